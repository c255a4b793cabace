#pragma once
// ErrorsModel: the study's failed images with their last error, read page by page from
// the coordinator's "errors" listing (KeysetTableModel), filtered there in SQL. The
// Message column leaves out the file name a message starts with (the Image column has
// it); the tooltip keeps the whole message.

#include "ui/keysettablemodel.h"

#include <QStringList>

namespace SegScale::Ui {

class ErrorsModel final : public KeysetTableModel {
    Q_OBJECT
public:
    enum Column { Image, Category, Message, Worker, When, ColumnCount };
    // Qt::UserRole: the image id; RowRole: the whole row as the coordinator sent it
    // (image, location, category, message, worker, dataset, attempts, at).
    enum Role { RowRole = Qt::UserRole + 1 };

    explicit ErrorsModel(StudyConnection *connection, QObject *parent = nullptr);

    // The closed list users filter on (core's ErrorCategory names).
    static QStringList categories();
    // One category, or empty for all; reloads from the first page.
    void setCategory(const QString &category);
    QString category() const { return m_category; }
    // Every filter of the "errors" listing at once (category, worker, dataset, since,
    // until; absent: any); reloads from the first page.
    void setFilter(const QJsonObject &filter);
    QJsonObject filter() const { return pager()->filter(); }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString m_category;
};

} // namespace SegScale::Ui
