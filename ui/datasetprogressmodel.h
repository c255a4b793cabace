#pragma once
// DatasetProgressModel: one row per dataset of the study from the coordinator's
// "datasets" reply — where it is, a bar of finished images (done + failed) and the count
// in each state. Each reply changes only the rows that changed.

#include "ui/rowtablemodel.h"

#include <QJsonArray>

#include <vector>

namespace SegScale::Ui {

class DatasetProgressModel final : public RowTableModel {
    Q_OBJECT
public:
    enum Column { Dataset, Progress, Total, Pending, Leased, Done, Failed, ColumnCount };
    // Progress column: finished / total, 0..1 (a double), for the bar delegate.
    static constexpr int FractionRole = Qt::UserRole + 1;

    explicit DatasetProgressModel(QObject *parent = nullptr);

    void update(const QJsonArray &datasets);
    void clear();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        qint64 id = 0;
        QString location;
        qint64 pending = 0, leased = 0, done = 0, failed = 0, total = 0;
        bool operator==(const Row &) const = default;
    };
    std::vector<Row> m_rows;
};

} // namespace SegScale::Ui
