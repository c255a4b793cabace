#include "ui/workersmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QGuiApplication>
#include <QHash>
#include <QLocale>
#include <QPalette>

#include <algorithm>
#include <limits>

namespace SegScale::Ui {
namespace {

constexpr int kDefaultHeartbeatSeconds = 30;  // stalled after 60 s when the interval is unknown

QString ago(qint64 seconds)
{
    if (seconds < 0)
        return {};
    if (seconds < 120)
        return WorkersModel::tr("%1 s ago").arg(seconds);
    if (seconds < 7200)
        return WorkersModel::tr("%1 min ago").arg(seconds / 60);
    return WorkersModel::tr("%1 h ago").arg(seconds / 3600);
}

// A warm warning tint over the palette's base colour: readable in light and dark themes
// alike, because the text keeps the palette's own colour and the base shows through.
QColor stalledColor()
{
    const QColor base = QGuiApplication::palette().color(QPalette::Base);
    const QColor warn(255, 140, 0);
    constexpr double kMix = 0.35;
    return QColor::fromRgbF(static_cast<float>(base.redF() * (1 - kMix) + warn.redF() * kMix),
                            static_cast<float>(base.greenF() * (1 - kMix) + warn.greenF() * kMix),
                            static_cast<float>(base.blueF() * (1 - kMix) + warn.blueF() * kMix));
}

} // namespace

WorkersModel::WorkersModel(QObject *parent) : RowTableModel(parent) {}

void WorkersModel::setHeartbeatSeconds(int seconds)
{
    m_heartbeatSeconds = seconds;
}

QString WorkersModel::launchedState(const QJsonObject &launched)
{
    const QString state = launched.value(QStringLiteral("state")).toString();
    if (state == QLatin1StringView("exited"))
        return tr("exited (%1)").arg(launched.value(QStringLiteral("exit_code")).toInt());
    return state.isEmpty() ? tr("launched") : state;
}

void WorkersModel::update(const QJsonArray &workers, const QJsonArray &launched)
{
    update(workers, launched, QDateTime::currentMSecsSinceEpoch());
}

void WorkersModel::update(const QJsonArray &workers, const QJsonArray &launched, qint64 nowMs)
{
    const int interval = m_heartbeatSeconds > 0 ? m_heartbeatSeconds : kDefaultHeartbeatSeconds;
    QHash<QString, qsizetype> oldRow;
    for (size_t i = 0; i < m_rows.size(); ++i)
        oldRow.insert(m_rows[i].name, static_cast<qsizetype>(i));

    // The new table, in the order of the old one with new agents appended.
    std::vector<Row> next;
    QHash<QString, size_t> at;
    auto rowFor = [&](const QString &name) -> Row & {
        auto it = at.constFind(name);
        if (it != at.constEnd())
            return next[*it];
        Row r;
        r.name = name;
        // A launched agent that left keeps the counts it had while connected.
        if (auto o = oldRow.constFind(name); o != oldRow.constEnd()) {
            const Row &old = m_rows[static_cast<size_t>(*o)];
            r.host = old.host;
            r.device = old.device;
            r.done = old.done;
            r.failed = old.failed;
            r.lastHeartbeatMs = old.lastHeartbeatMs;
            r.launcher = old.launcher;
        }
        at.insert(name, next.size());
        next.push_back(r);
        return next.back();
    };
    for (const QJsonValue &v : workers) {
        const QJsonObject w = v.toObject();
        const QString name = w.value(QStringLiteral("name")).toString();
        if (name.isEmpty())
            continue;
        Row &r = rowFor(name);
        const QString state = w.value(QStringLiteral("state")).toString();
        r.detail = w.value(QStringLiteral("detail")).toString();
        // The coordinator's reason may already say "refused: …" (a failed check).
        r.state = state == QLatin1StringView("refused") && !r.detail.isEmpty()
                      ? (r.detail.startsWith(QLatin1StringView("refused")) ? r.detail : tr("refused: %1").arg(r.detail))
                      : state;
        r.connected = state != QLatin1StringView("refused") && state != QLatin1StringView("left");
        if (state == QLatin1StringView("left")) {
            // Gone: its last counts and why it left (the coordinator's words).
            r.state = r.detail.isEmpty() ? tr("left") : tr("left: %1").arg(r.detail);
            r.host = w.value(QStringLiteral("host")).toString();
            r.device = w.value(QStringLiteral("device")).toString();
            r.done = static_cast<qint64>(w.value(QStringLiteral("done")).toDouble());
            r.failed = static_cast<qint64>(w.value(QStringLiteral("failed")).toDouble());
            r.lastHeartbeatMs = static_cast<qint64>(w.value(QStringLiteral("last_heartbeat")).toDouble());
        }
        if (!r.connected)
            continue;
        r.host = w.value(QStringLiteral("host")).toString();
        r.device = w.value(QStringLiteral("device")).toString();
        const QJsonObject stats = w.value(QStringLiteral("stats")).toObject();
        r.imagesPerSecond = stats.contains(QStringLiteral("images_per_second")) ? stats.value(QStringLiteral("images_per_second")).toDouble() : -1;
        r.rssMib = stats.contains(QStringLiteral("rss_mib")) ? stats.value(QStringLiteral("rss_mib")).toDouble() : -1;
        r.held = static_cast<qint64>(w.value(QStringLiteral("held")).toDouble());
        r.done = static_cast<qint64>(w.value(QStringLiteral("done")).toDouble());
        r.failed = static_cast<qint64>(w.value(QStringLiteral("failed")).toDouble());
        r.lastHeartbeatMs = static_cast<qint64>(w.value(QStringLiteral("last_heartbeat")).toDouble());
        const QJsonObject acc = w.value(QStringLiteral("accelerator")).toObject();
        r.accelerator.clear();
        r.acceleratorTip.clear();
        if (!acc.isEmpty()) {
            const QLocale locale;
            QStringList parts{acc.value(QStringLiteral("device")).toString()};
            if (acc.contains(QStringLiteral("memory_used_mib")))
                parts << tr("%1 / %2 MiB")
                             .arg(locale.toString(acc.value(QStringLiteral("memory_used_mib")).toDouble(), 'f', 0),
                                  locale.toString(acc.value(QStringLiteral("memory_total_mib")).toDouble(), 'f', 0));
            if (acc.contains(QStringLiteral("utilization_percent")))
                parts << tr("%1% busy").arg(acc.value(QStringLiteral("utilization_percent")).toInt());
            r.accelerator = parts.join(QStringLiteral(" · "));
            r.acceleratorTip = tr("%1: memory in use on the whole device (all processes), as nvidia-smi shows it")
                                   .arg(acc.value(QStringLiteral("name")).toString(acc.value(QStringLiteral("device")).toString()));
        }
    }
    for (const QJsonValue &v : launched) {
        const QJsonObject l = v.toObject();
        const QString name = l.value(QStringLiteral("name")).toString();
        if (name.isEmpty())
            continue;
        const bool seen = at.contains(name);
        Row &r = rowFor(name);
        r.launchId = l.value(QStringLiteral("id")).toString();
        r.launcher = l.value(QStringLiteral("kind")).toString();
        if (!seen) {
            // Not connected (yet, or any more): the launcher's word on it.
            r.state = launchedState(l);
            r.detail = l.value(QStringLiteral("detail")).toString();
            if (r.host.isEmpty())
                r.host = l.value(QStringLiteral("kind")).toString();
        }
    }
    for (Row &r : next) {
        if (r.launcher.isEmpty())
            r.launcher = tr("external");
        r.ageSeconds = r.lastHeartbeatMs > 0 ? std::max<qint64>(0, (nowMs - r.lastHeartbeatMs) / 1000) : -1;
        r.stalled = r.connected && r.lastHeartbeatMs > 0 && nowMs - r.lastHeartbeatMs > 2LL * interval * 1000;
    }
    // Keep the old order: surviving rows first, in their old order, then new ones.
    std::stable_sort(next.begin(), next.end(), [&](const Row &a, const Row &b) {
        const qsizetype ia = oldRow.value(a.name, std::numeric_limits<qsizetype>::max());
        const qsizetype ib = oldRow.value(b.name, std::numeric_limits<qsizetype>::max());
        return ia < ib;
    });

    // Remove the rows that went (from the bottom, so indexes stay valid)...
    QHash<QString, bool> keep;
    for (const Row &r : next)
        keep.insert(r.name, true);
    for (int i = static_cast<int>(m_rows.size()) - 1; i >= 0; --i) {
        if (keep.contains(m_rows[static_cast<size_t>(i)].name))
            continue;
        beginRemoveRows({}, i, i);
        m_rows.erase(m_rows.begin() + i);
        endRemoveRows();
    }
    // ...then update the ones that stayed and append the new ones.
    updateThenAppend(m_rows, next, ColumnCount);
}

void WorkersModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int WorkersModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int WorkersModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant WorkersModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[static_cast<size_t>(index.row())];
    switch (role) {
    case StalledRole:
        return r.stalled;
    case ConnectedRole:
        return r.connected;
    case LaunchIdRole:
        return r.launchId;
    case Qt::BackgroundRole:
        if (r.stalled)
            return QBrush(stalledColor());
        return {};
    case Qt::ToolTipRole:
        if (r.stalled)
            return tr("No heartbeat for %1 s (more than two heartbeat intervals): the agent may be hung or its network gone")
                .arg(r.ageSeconds);
        if (index.column() == Accelerator && !r.acceleratorTip.isEmpty())
            return r.acceleratorTip;
        return r.detail.isEmpty() ? QVariant() : QVariant(r.detail);
    case Qt::TextAlignmentRole:
        return index.column() >= ImagesPerSecond && index.column() <= RssMib ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case Qt::DisplayRole:
        switch (static_cast<Column>(index.column())) {
        case Name: return r.name;
        case Host: return r.host;
        case Launcher: return r.launcher;
        case Device: return r.device;
        case State: return r.stalled ? tr("%1 (stalled)").arg(r.state) : r.state;
        // "–": the agent has not sent a heartbeat with its rates yet (or is not connected).
        case ImagesPerSecond: return r.imagesPerSecond < 0 ? QStringLiteral("–") : QString::number(r.imagesPerSecond, 'f', 2);
        case Held: return r.connected ? QVariant(r.held) : QVariant();
        case Done: return r.done;
        case Failed: return r.failed;
        case RssMib: return r.rssMib < 0 ? QStringLiteral("–") : QString::number(r.rssMib, 'f', 0);
        // "—": no accelerator (a CPU agent) or none reported; never a guessed number.
        case Accelerator: return r.accelerator.isEmpty() ? QStringLiteral("—") : r.accelerator;
        case LastHeartbeat: return ago(r.ageSeconds);
        case ColumnCount: break;
        }
        return {};
    default:
        return {};
    }
}

QVariant WorkersModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (static_cast<Column>(section)) {
    case Name: return tr("Name");
    case Host: return tr("Host");
    case Launcher: return tr("Launcher");
    case Device: return tr("Device");
    case State: return tr("State");
    case ImagesPerSecond: return tr("Images/s");
    case Held: return tr("Held");
    case Done: return tr("Done");
    case Failed: return tr("Failed");
    case RssMib: return tr("RSS MiB");
    case Accelerator: return tr("Accelerator");
    case LastHeartbeat: return tr("Last heartbeat");
    case ColumnCount: break;
    }
    return {};
}

} // namespace SegScale::Ui
