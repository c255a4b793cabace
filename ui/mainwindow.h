#pragma once
// MainWindow: SegScale Studio's window. File > New study… creates a study
// (NewStudyDialog) and opens it; Study > Add data source… adds images to an embedded one
// (DataSourceDialog). File > Open study… runs the study's coordinator in this process
// (local agents join it on 127.0.0.1); File > Connect… attaches to a `segscale serve`
// with an admin token. Tabs watch it: Progress, Workers (WorkersPage: start agents here,
// over SSH or Slurm, drain, stop), Errors (ErrorsPage: failed images filtered, details,
// retry, export), Results (one row per image, one column per class) and Audit
// (AuditPage: marks on a sample of finished images); the tables read page by page. Every
// failure reaches the status bar; those of something the user asked for also open a
// message box. Window geometry and state, the last study, the tab, the splitter and the
// column widths persist in QSettings. Closing it while a run is going (agents of the
// embedded coordinator at work) asks whether to drain the agents first; draining lets
// them finish and commit the images they hold before the app exits.

#include <QMainWindow>
#include <QTimer>
#include <QUrl>

#include <functional>

class QAction;
class QComboBox;
class QLabel;
class QTabWidget;
class QTableView;

namespace SegScale::Ui {

class AuditPage;
class ErrorsModel;
class ErrorsPage;
class ProgressPanel;
class ResultsModel;
class ResultsPage;
class StudyConnection;
class WorkersModel;
class WorkersPage;

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    enum class CloseChoice { DrainAndClose, CloseNow, Cancel };

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // What the menu actions do once their dialogs were answered.
    void openStudy(const QString &database);
    void connectTo(const QUrl &url, const QString &adminTokenFile);
    void startLocalAgents(int count);
    // Re-reads progress, workers, errors and results now (F5).
    void refreshAll();
    // True while the embedded coordinator has connected agents and images to give them
    // (or images they hold): closing now would cut a run short.
    bool runIsGoing() const;
    // Asks every connected agent to drain, then closes the window once none is left.
    void drainAndClose();
    bool isDrainingToClose() const { return m_drainingToClose; }
    // Tests answer the close question themselves (default: a message box).
    void setCloseQuestion(std::function<CloseChoice()> ask) { m_askClose = std::move(ask); }
    // Writes geometry, state, tab, last study, splitter and column widths to QSettings.
    void saveSettings();
    void drainSelected();
    void stopSelected();
    // Failed images of the category chosen in the Errors tab (all: every category) back
    // to pending; the reply's count goes to the status bar and the table reloads.
    void retryCategory();
    void retryAll();
    // Saves one PNG per tab into dir (progress.png, workers.png, errors.png,
    // results.png, audit.png), the Start agents dialog's pages, the study dialogs, and
    // viewer.png when an image viewer is open; the paths written.
    QStringList saveScreenshots(const QString &dir);

    StudyConnection *connection() const { return m_connection; }
    WorkersModel *workersModel() const { return m_workers; }
    ProgressPanel *progressPanel() const { return m_progress; }
    QTableView *workersView() const;
    WorkersPage *workersPage() const { return m_workersPage; }
    // File > New study… (Ctrl+N): opens a NewStudyDialog.
    QAction *newStudyAction() const { return m_newStudy; }
    QString lastStudy() const { return m_lastStudy; }
    ErrorsModel *errorsModel() const;
    ResultsModel *resultsModel() const { return m_results; }
    ResultsPage *resultsPage() const { return m_resultsPage; }
    QTableView *errorsView() const;
    QTableView *resultsView() const { return m_resultsView; }
    QComboBox *categoryBox() const;
    ErrorsPage *errorsPage() const { return m_errorsPage; }
    AuditPage *auditPage() const { return m_auditPage; }
    QTabWidget *tabs() const { return m_tabs; }
    // Study > Add data source… (enabled for an open embedded study only).
    QAction *addDataSourceAction() const { return m_addDataSource; }
    QString lastFailure() const { return m_lastFailure; }

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createMenus();
    void showFailure(const QString &message, bool ask);
    void updateTitle();
    void updateActions();
    QWidget *createResultsPage();

    void restoreSettings();
    CloseChoice askClose();

    StudyConnection *m_connection;
    WorkersPage *m_workersPage;
    WorkersModel *m_workers;
    ProgressPanel *m_progress;
    QTabWidget *m_tabs;
    ErrorsPage *m_errorsPage;
    AuditPage *m_auditPage;
    ResultsModel *m_results;
    QTableView *m_resultsView;
    QAction *m_addDataSource = nullptr;
    ResultsPage *m_resultsPage = nullptr;
    QLabel *m_connectionLabel;
    QAction *m_newStudy = nullptr;
    QString m_lastFailure;
    QString m_lastStudy;
    std::function<CloseChoice()> m_askClose;
    QTimer m_drainWatch;
    bool m_drainingToClose = false;
    bool m_closeNow = false;
    bool m_attaching = false;  // a connection the user asked for is being made
    bool m_closing = false;    // the user closes it: no "lost the connection" box
};

} // namespace SegScale::Ui
