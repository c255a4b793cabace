#include "ui/resultsmodel.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QLocale>

namespace SegScale::Ui {

ResultsModel::ResultsModel(StudyConnection *connection, QObject *parent) : KeysetTableModel(connection, QStringLiteral("results"), parent) {}

void ResultsModel::setClasses(const QStringList &classes)
{
    if (classes == m_classes)
        return;
    beginResetModel();
    m_classes = classes;
    endResetModel();
}

void ResultsModel::setSort(int cls, Qt::SortOrder order)
{
    m_sortClass = cls;
    m_order = order;
    applyQuery();
}

void ResultsModel::setFilter(const QStringList &conditions, std::optional<qint64> dataset)
{
    m_conditions = conditions;
    m_dataset = dataset;
    applyQuery();
}

void ResultsModel::applyQuery()
{
    QJsonObject filter;
    if (m_sortClass >= 0 && m_sortClass < m_classes.size())
        filter.insert(QStringLiteral("sort"), m_classes.at(m_sortClass));
    filter.insert(QStringLiteral("order"), m_order == Qt::DescendingOrder ? QStringLiteral("desc") : QStringLiteral("asc"));
    if (!m_conditions.isEmpty())
        filter.insert(QStringLiteral("where"), QJsonArray::fromStringList(m_conditions));
    if (m_dataset)
        filter.insert(QStringLiteral("dataset"), static_cast<double>(*m_dataset));
    pager()->setFilter(filter);
    reload();
}

void ResultsModel::sort(int column, Qt::SortOrder order)
{
    if (column == Image)
        setSort(-1, order);
    else if (column >= FirstClass && column - FirstClass < m_classes.size())
        setSort(column - FirstClass, order);
}

int ResultsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : FirstClass + static_cast<int>(m_classes.size());
}

QVariant ResultsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonObject &r = row(index.row());
    const int column = index.column();
    if (role == Qt::TextAlignmentRole)
        return column == Image || column == Dataset ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && column == Image)
        return r.value(QStringLiteral("location")).toString();
    if (role == Qt::ToolTipRole && column == Dataset)
        return r.value(QStringLiteral("dataset_root")).toString();
    if (role != Qt::DisplayRole && role != Qt::UserRole)
        return {};
    switch (column) {
    case Image:
        return role == Qt::UserRole ? QVariant(static_cast<qint64>(r.value(QStringLiteral("image")).toDouble()))
                                    : QVariant(r.value(QStringLiteral("location")).toString());
    case Dataset: {
        if (role == Qt::UserRole)
            return static_cast<qint64>(r.value(QStringLiteral("dataset")).toDouble());
        const QString root = r.value(QStringLiteral("dataset_root")).toString();
        const QString name = QFileInfo(root).fileName();
        return name.isEmpty() ? root : name;
    }
    case Width:
        return r.value(QStringLiteral("width")).toInt();
    case Height:
        return r.value(QStringLiteral("height")).toInt();
    default: {
        const QJsonArray composition = r.value(QStringLiteral("composition")).toArray();
        const qsizetype k = column - FirstClass;
        if (k >= composition.size())
            return {};  // a result of fewer classes than the study names: nothing to show
        const double fraction = composition.at(k).toDouble();
        if (role == Qt::UserRole)
            return fraction;
        return QLocale().toString(fraction * 100.0, 'f', 1);
    }
    }
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Image:
        return tr("Image");
    case Dataset:
        return tr("Dataset");
    case Width:
        return tr("Width");
    case Height:
        return tr("Height");
    default:
        return section - FirstClass < m_classes.size() ? tr("%1 %").arg(m_classes.at(section - FirstClass)) : QVariant();
    }
}

} // namespace SegScale::Ui
