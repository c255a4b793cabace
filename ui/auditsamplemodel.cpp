#include "ui/auditsamplemodel.h"

#include <QBrush>
#include <QColor>
#include <QLocale>
#include <QPalette>

namespace SegScale::Ui {

void AuditSampleModel::setRows(const QJsonArray &rows)
{
    beginResetModel();
    m_rows.clear();
    m_rows.reserve(static_cast<size_t>(rows.size()));
    for (const auto &r : rows)
        m_rows.push_back(r.toObject());
    endResetModel();
}

void AuditSampleModel::setDatasetNames(const QHash<qint64, QString> &names)
{
    m_datasets = names;
    if (!m_rows.empty())
        Q_EMIT dataChanged(index(0, Dataset), index(rowCount() - 1, Dataset));
}

int AuditSampleModel::rowOf(qint64 image) const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (static_cast<qint64>(m_rows[i].value(QStringLiteral("image")).toDouble()) == image)
            return static_cast<int>(i);
    return -1;
}

void AuditSampleModel::setMark(qint64 image, const QJsonObject &mark)
{
    const int r = rowOf(image);
    if (r < 0)
        return;
    QJsonObject &row = m_rows[static_cast<size_t>(r)];
    if (mark.isEmpty())
        row.remove(QStringLiteral("mark"));
    else
        row.insert(QStringLiteral("mark"), mark);
    Q_EMIT dataChanged(index(r, 0), index(r, ColumnCount - 1));
}

int AuditSampleModel::markedCount() const
{
    return static_cast<int>(std::count_if(m_rows.begin(), m_rows.end(), [](const QJsonObject &r) { return r.contains(QStringLiteral("mark")); }));
}

int AuditSampleModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int AuditSampleModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AuditSampleModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonObject &r = m_rows[static_cast<size_t>(index.row())];
    const QJsonObject mark = r.value(QStringLiteral("mark")).toObject();
    const QString verdict = mark.value(QStringLiteral("verdict")).toString();
    if (role == Qt::UserRole)
        return static_cast<qint64>(r.value(QStringLiteral("image")).toDouble());
    if (role == RowRole)
        return r;
    if (role == Qt::ToolTipRole && index.column() == Image)
        return r.value(QStringLiteral("location")).toString();
    if (role == Qt::ToolTipRole && index.column() == Note)
        return mark.value(QStringLiteral("note")).toString();
    if (role == Qt::ForegroundRole && index.column() == Mark && !verdict.isEmpty())
        // Readable on light and dark palettes alike.
        return QBrush(verdict == QLatin1StringView("flagged") ? QColor(0xd3, 0x2f, 0x2f) : QColor(0x2e, 0x9d, 0x4f));
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Image: {
        const QString location = r.value(QStringLiteral("location")).toString();
        return location.mid(location.lastIndexOf(QLatin1Char('/')) + 1);
    }
    case Dataset: {
        const auto id = static_cast<qint64>(r.value(QStringLiteral("dataset")).toDouble());
        return m_datasets.value(id, QString::number(id));
    }
    case Share:
        if (!r.contains(QStringLiteral("share")))
            return {};
        return QStringLiteral("%1 %2").arg(r.value(QStringLiteral("group")).toString() == QLatin1StringView("highest") ? QStringLiteral("▲")
                                                                                                                     : QStringLiteral("▼"),
                                           QLocale().toString(r.value(QStringLiteral("share")).toDouble() * 100.0, 'f', 1));
    case Mark:
        return verdict.isEmpty() ? QString() : verdict == QLatin1StringView("accepted") ? tr("accepted") : tr("flagged");
    case Note:
        return mark.value(QStringLiteral("note")).toString().simplified();
    default:
        return {};
    }
}

QVariant AuditSampleModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Image: return tr("Image");
    case Dataset: return tr("Dataset");
    case Share: return tr("Share %");
    case Mark: return tr("Mark");
    case Note: return tr("Note");
    default: return {};
    }
}

} // namespace SegScale::Ui
