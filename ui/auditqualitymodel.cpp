#include "ui/auditqualitymodel.h"

#include <QLocale>

namespace SegScale::Ui {

void AuditQualityModel::setRows(const QJsonArray &rows)
{
    std::vector<QJsonObject> fresh;
    for (const auto &r : rows)
        fresh.push_back(r.toObject());
    const bool sameShape = fresh.size() == m_rows.size() &&
                           std::equal(fresh.begin(), fresh.end(), m_rows.begin(), [](const QJsonObject &a, const QJsonObject &b) {
                               return a.value(QStringLiteral("dataset")) == b.value(QStringLiteral("dataset"));
                           });
    if (sameShape) {
        m_rows = std::move(fresh);
        if (!m_rows.empty())
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_rows = std::move(fresh);
    endResetModel();
}

QJsonValue AuditQualityModel::finishedOf(qint64 dataset) const
{
    for (const QJsonObject &r : m_rows)
        if (static_cast<qint64>(r.value(QStringLiteral("dataset")).toDouble()) == dataset)
            return r.value(QStringLiteral("finished"));
    return QJsonValue::Null;
}

int AuditQualityModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int AuditQualityModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AuditQualityModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonObject &r = m_rows[static_cast<size_t>(index.row())];
    static const char *const keys[] = {"root", "finished", "marked", "accepted", "flagged", "rate"};
    const QJsonValue v = r.value(QLatin1StringView(keys[index.column()]));
    if (role == Qt::UserRole)
        return v.toVariant();  // raw numbers (rate: absent while nothing is marked)
    if (role == Qt::TextAlignmentRole && index.column() != Dataset)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Dataset: return v.toString();
    case Rate: return v.isDouble() ? QLocale().toString(v.toDouble() * 100.0, 'f', 1) + QStringLiteral(" %") : tr("—");
    default: return v.isDouble() ? QLocale().toString(static_cast<qint64>(v.toDouble())) : tr("—");
    }
}

QVariant AuditQualityModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Dataset: return tr("Dataset");
    case Finished: return tr("Finished");
    case Marked: return tr("Marked");
    case Accepted: return tr("Accepted");
    case Flagged: return tr("Flagged");
    case Rate: return tr("Quality rate");
    default: return {};
    }
}

} // namespace SegScale::Ui
