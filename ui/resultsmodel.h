#pragma once
// ResultsModel: the study's results of the current run, read page by page from the
// coordinator's "results" listing (KeysetTableModel): the image, its dataset, its size,
// then one column per class (the summary's "classes") with the share of its pixels —
// shown as a percentage with one decimal, the raw fraction under Qt::UserRole. Sorting
// (by the image or a class share, sort() from a header click) and filtering (dataset,
// class-share conditions) happen in the coordinator's SQL; the model only asks.

#include "ui/keysettablemodel.h"

#include <QStringList>

#include <optional>

namespace SegScale::Ui {

class ResultsModel final : public KeysetTableModel {
    Q_OBJECT
public:
    enum Column { Image, Dataset, Width, Height, FirstClass };

    explicit ResultsModel(StudyConnection *connection, QObject *parent = nullptr);

    // The model's class names, in the order of each result's composition; a change of
    // names changes the columns.
    void setClasses(const QStringList &classes);
    QStringList classes() const { return m_classes; }

    // Sort by a class (its index), or by the image with -1; reloads.
    void setSort(int cls, Qt::SortOrder order);
    int sortClass() const { return m_sortClass; }
    Qt::SortOrder sortOrder() const { return m_order; }
    // Conditions like "sky>0.3" (see Jobs::ResultsQuery::parseCondition) and a dataset
    // (none: all); reloads. A condition the coordinator refuses ends up in failed().
    void setFilter(const QStringList &conditions, std::optional<qint64> dataset);
    QStringList conditions() const { return m_conditions; }

    // A loaded row as the coordinator sent it (image, location, dataset, composition, ...).
    QJsonObject result(int r) const { return r >= 0 && r < rowCount() ? row(r) : QJsonObject(); }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    // Image and class columns sort (server-side); the others keep the current order.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

private:
    void applyQuery();

    QStringList m_classes;
    int m_sortClass = -1;
    Qt::SortOrder m_order = Qt::AscendingOrder;
    QStringList m_conditions;
    std::optional<qint64> m_dataset;
};

} // namespace SegScale::Ui
