#include "ui/keysettablemodel.h"

#include <algorithm>

namespace SegScale::Ui {

KeysetTableModel::KeysetTableModel(StudyConnection *connection, const QString &kind, QObject *parent)
    : QAbstractTableModel(parent), m_pager(new KeysetPager(connection, kind, this))
{
    connect(m_pager, &KeysetPager::firstPageReceived, this, &KeysetTableModel::onFirstPage);
    connect(m_pager, &KeysetPager::nextPageReceived, this, &KeysetTableModel::onNextPage);
}

void KeysetTableModel::reload()
{
    m_pager->reload();
}

void KeysetTableModel::refreshTop()
{
    if (m_pager->pages() <= 1 && !m_pager->isLoading())
        m_pager->reload();
}

void KeysetTableModel::clear()
{
    m_pager->clear();
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int KeysetTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

bool KeysetTableModel::canFetchMore(const QModelIndex &parent) const
{
    return !parent.isValid() && m_pager->canFetchMore();
}

void KeysetTableModel::fetchMore(const QModelIndex &parent)
{
    if (!parent.isValid())
        m_pager->fetchMore();
}

void KeysetTableModel::onFirstPage(const QJsonArray &rows)
{
    std::vector<QJsonObject> fresh;
    fresh.reserve(static_cast<size_t>(rows.size()));
    for (const auto &r : rows)
        fresh.push_back(r.toObject());
    // While a run goes on the first page mostly grows at its end: append those rows so a
    // selection and the scroll position stay; anything else (a retry, a new filter) resets.
    const bool grows = fresh.size() >= m_rows.size() && std::equal(m_rows.begin(), m_rows.end(), fresh.begin());
    if (grows) {
        if (fresh.size() > m_rows.size()) {
            beginInsertRows({}, static_cast<int>(m_rows.size()), static_cast<int>(fresh.size()) - 1);
            m_rows = std::move(fresh);
            endInsertRows();
        }
    } else {
        beginResetModel();
        m_rows = std::move(fresh);
        endResetModel();
    }
    Q_EMIT pageLoaded();
}

void KeysetTableModel::onNextPage(const QJsonArray &rows)
{
    if (!rows.isEmpty()) {
        beginInsertRows({}, static_cast<int>(m_rows.size()), static_cast<int>(m_rows.size() + rows.size()) - 1);
        for (const auto &r : rows)
            m_rows.push_back(r.toObject());
        endInsertRows();
    }
    Q_EMIT pageLoaded();
}

} // namespace SegScale::Ui
