#pragma once
// ErrorsPage: the Errors tab — the study's failed images (ErrorsModel), filtered in SQL by
// category, worker, dataset and the time of the last error; a details pane for the
// selected row (whole location, category, message, attempts, worker, time); retry of the
// selected rows, of a category or of all; export of the filtered rows to CSV (the CLI's
// bytes when unfiltered). All through the coordinator: nothing here reads the study.

#include <QJsonObject>
#include <QWidget>

class QAction;
class QCheckBox;
class QComboBox;
class QDateTimeEdit;
class QLabel;
class QTableView;

namespace SegScale::Ui {

class ErrorsExport;
class ErrorsModel;
class StudyConnection;

class ErrorsPage final : public QWidget {
    Q_OBJECT
public:
    explicit ErrorsPage(StudyConnection *connection, QWidget *parent = nullptr);

    // A study was opened: the filter choices and the first page are read again.
    void reload();
    // New failures may have come: the first page only, if that is all the user sees.
    void refreshTop();
    void clear();

    // The filters as the "errors" request carries them (absent: any).
    QJsonObject filter() const;
    // Sets the filter controls (empty/nullopt: any) and reloads.
    void setFilter(const QString &category, const QString &worker, qint64 datasetId, const QDateTime &since, const QDateTime &until);

    void retrySelected();
    void retryCategory();
    void retryAll();
    // Writes the rows of the current filter to path (no dialog); exported() or a failure follows.
    void exportTo(const QString &path);

    ErrorsModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    QComboBox *categoryBox() const { return m_category; }
    QComboBox *workerBox() const { return m_worker; }
    QComboBox *datasetBox() const { return m_dataset; }
    // The details pane, as plain text (what a test reads).
    QString detailsText() const;

Q_SIGNALS:
    // For the status bar: a retry's count, an export's end.
    void statusMessage(const QString &message);
    void exported(qint64 rows, const QString &path);
    // Something the user asked for failed (an export that could not be written).
    void failed(const QString &message);

private:
    void loadFacets();
    void applyFilter();
    void updateActions();
    void updateDetails();
    void retried(qint64 count, const QString &what);

    StudyConnection *m_connection;
    ErrorsModel *m_model;
    ErrorsExport *m_export;
    QTableView *m_view;
    QComboBox *m_category;
    QComboBox *m_worker;
    QComboBox *m_dataset;
    QCheckBox *m_useSince;
    QCheckBox *m_useUntil;
    QDateTimeEdit *m_since;
    QDateTimeEdit *m_until;
    QAction *m_retrySelected = nullptr;
    QAction *m_retryCategory = nullptr;
    QAction *m_retryAll = nullptr;
    QAction *m_exportAction = nullptr;
    QLabel *m_location;
    QLabel *m_details;
    QLabel *m_message;
    bool m_settingFilter = false;
};

} // namespace SegScale::Ui
