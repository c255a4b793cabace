#pragma once
// AuditQualityModel: the audit per dataset (the coordinator's "audit-summary"): finished
// images, marked, accepted, flagged and the quality rate (accepted / marked).

#include <QAbstractTableModel>
#include <QJsonArray>
#include <QJsonObject>

#include <vector>

namespace SegScale::Ui {

class AuditQualityModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Dataset, Finished, Marked, Accepted, Flagged, Rate, ColumnCount };

    using QAbstractTableModel::QAbstractTableModel;

    // Replaces the rows; rows of the same datasets in the same order only change values.
    void setRows(const QJsonArray &rows);
    void clear() { setRows({}); }
    // The finished count shown for a dataset (null when unknown).
    QJsonValue finishedOf(qint64 dataset) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::vector<QJsonObject> m_rows;
};

} // namespace SegScale::Ui
