#pragma once
// KeysetTableModel: the common half of the Errors and Results tables — rows of one of the
// coordinator's keyset listings, read through a KeysetPager: the first page on reload(),
// the next one when a view scrolls to the end (canFetchMore/fetchMore). Subclasses say
// what the columns are. refreshTop() re-reads the first page only while no later page was
// loaded, so a "changed" push never moves a user who scrolled down.

#include "ui/keysetpager.h"

#include <QAbstractTableModel>
#include <QJsonObject>

#include <vector>

namespace SegScale::Ui {

class KeysetTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    KeysetTableModel(StudyConnection *connection, const QString &kind, QObject *parent = nullptr);

    // Starts over from the first page (a new filter, a retry, the Reload button).
    void reload();
    // Re-reads the first page if it is all the user has loaded; otherwise nothing.
    void refreshTop();
    // No rows, nothing asked for (the study was closed).
    void clear();
    bool isLoading() const { return m_pager->isLoading(); }

    int rowCount(const QModelIndex &parent = {}) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

Q_SIGNALS:
    // A page arrived and its rows are in the model.
    void pageLoaded();

protected:
    KeysetPager *pager() const { return m_pager; }
    const QJsonObject &row(int r) const { return m_rows[static_cast<size_t>(r)]; }

private:
    void onFirstPage(const QJsonArray &rows);
    void onNextPage(const QJsonArray &rows);

    KeysetPager *m_pager;
    std::vector<QJsonObject> m_rows;
};

} // namespace SegScale::Ui
