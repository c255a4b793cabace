#pragma once
// KeysetPager: reads one of the coordinator's keyset listings ("results", "errors") a
// page at a time for a table model. reload() starts over from the first page (the model
// keeps showing its rows until that page arrives); fetchMore() asks for the page after
// the last one received — what QAbstractItemModel::fetchMore calls when a view scrolls to
// the end — so a study of a million results is never read whole. A reply to a request
// made before the last reload() is dropped.

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>

namespace SegScale::Ui {

class StudyConnection;

class KeysetPager final : public QObject {
    Q_OBJECT
public:
    static constexpr int kPageRows = 200;

    KeysetPager(StudyConnection *connection, const QString &kind, QObject *parent = nullptr);

    // Extra request fields (the errors' "category"); takes effect at the next reload().
    void setFilter(const QJsonObject &filter) { m_filter = filter; }
    QJsonObject filter() const { return m_filter; }

    // Asks for the first page again; firstPageReceived() follows.
    void reload();
    // Forgets every page (a study closed); nothing is asked for.
    void clear();
    // Whether a page after those received exists (false until the first one arrived).
    bool canFetchMore() const { return m_hasMore && m_pages > 0; }
    // Asks for the next page, once: calls while one is on its way do nothing.
    void fetchMore();
    // How many pages arrived since the last reload(); 0 or 1 means the user sees the top.
    int pages() const { return m_pages; }
    bool isLoading() const { return m_inFlight; }

Q_SIGNALS:
    void firstPageReceived(const QJsonArray &rows);
    void nextPageReceived(const QJsonArray &rows);

private:
    void request(qint64 after, bool first);

    StudyConnection *m_connection;
    QString m_kind;
    QJsonObject m_filter;
    qint64 m_next = 0;       // key of the next page
    int m_pages = 0;
    quint64 m_generation = 0;
    bool m_hasMore = true;
    bool m_inFlight = false;
};

} // namespace SegScale::Ui
