#include "pipeline/runstats.h"

#include <QFile>

#include <sys/resource.h>
#include <unistd.h>

namespace SegScale::Pipeline {

QJsonObject RunStats::toJson() const
{
    QJsonObject stages;
    for (const auto &[name, seconds] : stageBusySeconds)
        stages[name] = seconds;
    QJsonObject queueJson;
    for (const auto &[name, q] : queues)
        queueJson[name] = QJsonObject{{QStringLiteral("capacity"), static_cast<qint64>(q.capacity)},
                                      {QStringLiteral("high_water"), static_cast<qint64>(q.highWater)}};
    QJsonObject scaleJson;
    for (const auto &[scale, t] : perScale)
        scaleJson[QString::number(scale)] = QJsonObject{{QStringLiteral("windows"), t.windows},
                                                        {QStringLiteral("network_seconds"), t.networkSeconds}};
    return QJsonObject{{QStringLiteral("mode"), mode},
                       {QStringLiteral("images_done"), imagesDone},
                       {QStringLiteral("images_failed"), imagesFailed},
                       {QStringLiteral("wall_seconds"), wallSeconds},
                       {QStringLiteral("images_per_second"), imagesPerSecond()},
                       {QStringLiteral("network_forward_seconds"), forwardSeconds},
                       {QStringLiteral("forward_passes"), forwardCalls},
                       {QStringLiteral("windows"), windows},
                       {QStringLiteral("windows_per_forward"), windowsPerForward()},
                       {QStringLiteral("stage_busy_seconds"), stages},
                       {QStringLiteral("queues"), queueJson},
                       {QStringLiteral("network_seconds_per_scale"), scaleJson},
                       {QStringLiteral("peak_rss_kib"), static_cast<qint64>(peakRssKiB)},
                       {QStringLiteral("memory_budget_bytes"), static_cast<qint64>(memoryBudgetBytes)},
                       {QStringLiteral("memory_reserved_high_water_bytes"), static_cast<qint64>(memoryReservedHighWater)},
                       {QStringLiteral("untrained"), untrained}};
}

long RunStats::currentRssKiB()
{
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = f.readAll().split(' ');
    if (fields.size() < 2)
        return 0;
    return fields[1].toLong() * (sysconf(_SC_PAGESIZE) / 1024);
}

long RunStats::peakRssKiBNow()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

} // namespace SegScale::Pipeline
