#pragma once
// ModelClassesModel: a model card's classes as a table — index, name with its palette
// colour as a swatch, and the colour in #rrggbb — for the new study dialog's model card.

#include "model/modelcard.h"

#include <QAbstractTableModel>
#include <QStringList>

#include <vector>

namespace SegScale::Ui {

class ModelClassesModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { IndexColumn, NameColumn, ColourColumn, ColumnCount };

    explicit ModelClassesModel(QObject *parent = nullptr);

    // A class without a palette entry gets no swatch (a card may leave the palette short).
    void setClasses(const QStringList &classes, const std::vector<Model::Rgb> &palette);
    void clear();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QStringList m_classes;
    std::vector<Model::Rgb> m_palette;
};

} // namespace SegScale::Ui
