#pragma once
// AuditSampleModel: the images of one audit sample (the coordinator's "audit-sample"
// reply) with their marks; a mark set or cleared replaces that row's mark in place.

#include <QAbstractTableModel>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>

#include <vector>

namespace SegScale::Ui {

class AuditSampleModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Image, Share, Mark, Dataset, Note, ColumnCount };
    // Qt::UserRole: the image id; RowRole: the row as sent (image, dataset, location,
    // label, overlay, share, group, mark).
    enum Role { RowRole = Qt::UserRole + 1 };

    using QAbstractTableModel::QAbstractTableModel;

    void setRows(const QJsonArray &rows);
    // What the dataset column shows for a dataset id (its root).
    void setDatasetNames(const QHash<qint64, QString> &names);
    // The image's mark as the coordinator returned it; an empty object: no mark.
    void setMark(qint64 image, const QJsonObject &mark);
    void clear() { setRows({}); }
    int rowOf(qint64 image) const;
    QJsonObject rowObject(int row) const { return m_rows[static_cast<size_t>(row)]; }
    // Marked rows (for the "n of k reviewed" line).
    int markedCount() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::vector<QJsonObject> m_rows;
    QHash<qint64, QString> m_datasets;
};

} // namespace SegScale::Ui
