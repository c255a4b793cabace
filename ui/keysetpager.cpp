#include "ui/keysetpager.h"

#include "ui/studyconnection.h"

namespace SegScale::Ui {

KeysetPager::KeysetPager(StudyConnection *connection, const QString &kind, QObject *parent)
    : QObject(parent), m_connection(connection), m_kind(kind)
{
}

void KeysetPager::clear()
{
    ++m_generation;
    m_next = 0;
    m_pages = 0;
    m_hasMore = true;
    m_inFlight = false;
}

void KeysetPager::reload()
{
    clear();
    request(0, true);
}

void KeysetPager::fetchMore()
{
    if (m_inFlight || !canFetchMore())
        return;
    request(m_next, false);
}

void KeysetPager::request(qint64 after, bool first)
{
    if (!m_connection->isConnected())
        return;
    m_inFlight = true;
    const quint64 generation = m_generation;
    m_connection->requestPage(m_kind, after, kPageRows, m_filter, this, [this, generation, first](const QJsonArray &rows, qint64 next) {
        if (generation != m_generation)
            return;  // asked before a reload(): rows of another filter or an older study
        m_inFlight = false;
        ++m_pages;
        m_hasMore = next >= 0;
        if (m_hasMore)
            m_next = next;
        if (first)
            Q_EMIT firstPageReceived(rows);
        else
            Q_EMIT nextPageReceived(rows);
    });
}

} // namespace SegScale::Ui
