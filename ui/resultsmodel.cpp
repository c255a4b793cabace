#include "ui/resultsmodel.h"

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
        return column == Image ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && column == Image)
        return r.value(QStringLiteral("location")).toString();
    if (role != Qt::DisplayRole && role != Qt::UserRole)
        return {};
    switch (column) {
    case Image:
        return role == Qt::UserRole ? QVariant(static_cast<qint64>(r.value(QStringLiteral("image")).toDouble()))
                                    : QVariant(r.value(QStringLiteral("location")).toString());
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
    case Width:
        return tr("Width");
    case Height:
        return tr("Height");
    default:
        return section - FirstClass < m_classes.size() ? tr("%1 %").arg(m_classes.at(section - FirstClass)) : QVariant();
    }
}

} // namespace SegScale::Ui
