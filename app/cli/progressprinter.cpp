#include "progressprinter.h"

#include <cstdio>
#include <unistd.h>

namespace SegScale::Cli {

ProgressPrinter::ProgressPrinter(qint64 total, QString what)
    : m_total(total), m_what(std::move(what)), m_tty(isatty(fileno(stderr)) != 0)
{
    m_clock.start();
}

QString ProgressPrinter::line(qint64 done, qint64 failed) const
{
    const double seconds = m_clock.elapsed() / 1000.0;
    const qint64 finished = done + failed;
    const double rate = seconds > 0 ? finished / seconds : 0;
    QString eta = QStringLiteral("--");
    if (rate > 0 && m_total > 0) {
        const auto left = static_cast<qint64>((m_total - finished) / rate);
        eta = left >= 3600 ? QStringLiteral("%1h%2m").arg(left / 3600).arg((left % 3600) / 60, 2, 10, QLatin1Char('0'))
                           : QStringLiteral("%1m%2s").arg(left / 60).arg(left % 60, 2, 10, QLatin1Char('0'));
    }
    return QStringLiteral("[%1/%2] %3 %4/s, ETA %5%6")
        .arg(finished)
        .arg(m_total)
        .arg(rate, 0, 'f', 2)
        .arg(m_what, eta, failed ? QStringLiteral(", %1 failed").arg(failed) : QString());
}

void ProgressPrinter::update(qint64 done, qint64 failed, bool force)
{
    const qint64 now = m_clock.elapsed();
    if (!force && now - m_lastPrint < (m_tty ? 250 : 5000))
        return;
    const QByteArray text = line(done, failed).toUtf8();
    if (force && !m_tty && done + failed == m_lastFinished)
        return;  // the final line would repeat the last one
    m_lastPrint = now;
    m_lastFinished = done + failed;
    if (m_tty)
        std::fprintf(stderr, "\r%s\033[K", text.constData());
    else
        std::fprintf(stderr, "%s\n", text.constData());
    std::fflush(stderr);
}

void ProgressPrinter::finish(qint64 done, qint64 failed)
{
    update(done, failed, true);
    if (m_tty)
        std::fprintf(stderr, "\n");
}

} // namespace SegScale::Cli
