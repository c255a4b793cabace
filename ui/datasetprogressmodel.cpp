#include "ui/datasetprogressmodel.h"

#include <QJsonObject>
#include <QLocale>

namespace SegScale::Ui {

DatasetProgressModel::DatasetProgressModel(QObject *parent) : RowTableModel(parent) {}

void DatasetProgressModel::update(const QJsonArray &datasets)
{
    std::vector<Row> next;
    next.reserve(static_cast<size_t>(datasets.size()));
    for (const QJsonValue &v : datasets) {
        const QJsonObject d = v.toObject();
        auto n = [&](const char *key) { return static_cast<qint64>(d.value(QLatin1StringView(key)).toDouble()); };
        Row r;
        r.id = n("id");
        const QString storage = d.value(QStringLiteral("storage")).toString();
        const QString root = d.value(QStringLiteral("root")).toString();
        // A local dataset is its folder; a remote one keeps its server in front.
        r.location = storage.isEmpty() || storage.startsWith(QLatin1StringView("file:")) ? root
                                                                                         : storage + (root.startsWith(QLatin1Char('/')) ? QString() : QStringLiteral("/")) + root;
        r.pending = n("pending");
        r.leased = n("leased");
        r.done = n("done");
        r.failed = n("failed");
        r.total = n("total");
        next.push_back(r);
    }
    // Datasets are only ever added (by id order): the common case is same rows or more.
    const bool prefix = next.size() >= m_rows.size() &&
                        std::equal(m_rows.begin(), m_rows.end(), next.begin(), [](const Row &a, const Row &b) { return a.id == b.id; });
    if (!prefix) {
        beginResetModel();
        m_rows = std::move(next);
        endResetModel();
        return;
    }
    updateThenAppend(m_rows, next, ColumnCount);
}

void DatasetProgressModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int DatasetProgressModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int DatasetProgressModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DatasetProgressModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[static_cast<size_t>(index.row())];
    const double fraction = r.total > 0 ? double(r.done + r.failed) / double(r.total) : 0.0;
    if (role == FractionRole && index.column() == Progress)
        return fraction;
    if (role == Qt::TextAlignmentRole && index.column() >= Total)
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == Dataset)
        return r.location;
    if (role != Qt::DisplayRole)
        return {};
    const QLocale locale;
    switch (static_cast<Column>(index.column())) {
    case Dataset: return r.location;
    case Progress: return tr("%1%").arg(locale.toString(100.0 * fraction, 'f', 1));
    case Total: return locale.toString(r.total);
    case Pending: return locale.toString(r.pending);
    case Leased: return locale.toString(r.leased);
    case Done: return locale.toString(r.done);
    case Failed: return locale.toString(r.failed);
    case ColumnCount: break;
    }
    return {};
}

QVariant DatasetProgressModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (static_cast<Column>(section)) {
    case Dataset: return tr("Dataset");
    case Progress: return tr("Finished");
    case Total: return tr("Images");
    case Pending: return tr("Pending");
    case Leased: return tr("Being segmented");
    case Done: return tr("Done");
    case Failed: return tr("Failed");
    case ColumnCount: break;
    }
    return {};
}

} // namespace SegScale::Ui
