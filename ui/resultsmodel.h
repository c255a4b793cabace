#pragma once
// ResultsModel: the study's results of the current run, read page by page from the
// coordinator's "results" listing (KeysetTableModel): the image, its size, then one
// column per class (the summary's "classes") with the share of its pixels — shown as a
// percentage with one decimal, the raw fraction under Qt::UserRole.

#include "ui/keysettablemodel.h"

#include <QStringList>

namespace SegScale::Ui {

class ResultsModel final : public KeysetTableModel {
    Q_OBJECT
public:
    enum Column { Image, Width, Height, FirstClass };

    explicit ResultsModel(StudyConnection *connection, QObject *parent = nullptr);

    // The model's class names, in the order of each result's composition; a change of
    // names changes the columns.
    void setClasses(const QStringList &classes);
    QStringList classes() const { return m_classes; }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QStringList m_classes;
};

} // namespace SegScale::Ui
