#include "ui/modelclassesmodel.h"

#include <QColor>

namespace SegScale::Ui {

ModelClassesModel::ModelClassesModel(QObject *parent) : QAbstractTableModel(parent) {}

void ModelClassesModel::setClasses(const QStringList &classes, const std::vector<Model::Rgb> &palette)
{
    beginResetModel();
    m_classes = classes;
    m_palette = palette;
    endResetModel();
}

void ModelClassesModel::clear()
{
    setClasses({}, {});
}

int ModelClassesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_classes.size());
}

int ModelClassesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ModelClassesModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = index.row();
    const bool hasColour = std::size_t(row) < m_palette.size();
    const QColor colour = hasColour ? QColor(m_palette[row].r, m_palette[row].g, m_palette[row].b) : QColor();
    switch (index.column()) {
    case IndexColumn:
        if (role == Qt::DisplayRole)
            return row;
        if (role == Qt::TextAlignmentRole)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case NameColumn:
        if (role == Qt::DisplayRole)
            return m_classes.at(row);
        if (role == Qt::DecorationRole && hasColour)
            return colour;
        break;
    case ColourColumn:
        if (role == Qt::DisplayRole)
            return hasColour ? colour.name() : tr("none");
        break;
    default:
        break;
    }
    return {};
}

QVariant ModelClassesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IndexColumn: return tr("#");
    case NameColumn: return tr("Class");
    case ColourColumn: return tr("Colour");
    default: return {};
    }
}

} // namespace SegScale::Ui
