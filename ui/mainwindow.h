#pragma once
// MainWindow: SegScale Studio's window. File > Open study… runs the study's coordinator
// in this process (local agents join it on 127.0.0.1); File > Connect… attaches to a
// `segscale serve` with an admin token. Four tabs watch it: Progress, Workers (start
// local agents, drain, stop), Errors (failed images by category, retry) and Results (one
// row per image, one column per class), the last two read page by page. Every failure reaches the status bar; those of something
// the user asked for also open a message box.

#include <QMainWindow>
#include <QUrl>

class QAction;
class QComboBox;
class QLabel;
class QTabWidget;
class QTableView;

namespace SegScale::Ui {

class ErrorsModel;
class ProgressPanel;
class ResultsModel;
class ResultsPage;
class StudyConnection;
class WorkersModel;

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // What the menu actions do once their dialogs were answered.
    void openStudy(const QString &database);
    void connectTo(const QUrl &url, const QString &adminTokenFile);
    void startLocalAgents(int count);
    void drainSelected();
    void stopSelected();
    // Failed images of the category chosen in the Errors tab (all: every category) back
    // to pending; the reply's count goes to the status bar and the table reloads.
    void retryCategory();
    void retryAll();
    // Saves one PNG per tab into dir (progress.png, workers.png, errors.png,
    // results.png), and viewer.png when an image viewer is open; the paths written.
    QStringList saveScreenshots(const QString &dir);

    StudyConnection *connection() const { return m_connection; }
    WorkersModel *workersModel() const { return m_workers; }
    ProgressPanel *progressPanel() const { return m_progress; }
    QTableView *workersView() const { return m_workersView; }
    ErrorsModel *errorsModel() const { return m_errors; }
    ResultsModel *resultsModel() const { return m_results; }
    ResultsPage *resultsPage() const { return m_resultsPage; }
    QTableView *errorsView() const { return m_errorsView; }
    QTableView *resultsView() const { return m_resultsView; }
    QComboBox *categoryBox() const { return m_category; }
    QTabWidget *tabs() const { return m_tabs; }
    QString lastFailure() const { return m_lastFailure; }

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createMenus();
    void showFailure(const QString &message, bool ask);
    void updateTitle();
    void updateActions();
    QString selectedAgent(bool *connected, QString *launchId) const;
    QWidget *createErrorsPage();
    QWidget *createResultsPage();
    void retry(const QString &category);

    StudyConnection *m_connection;
    WorkersModel *m_workers;
    ProgressPanel *m_progress;
    QTabWidget *m_tabs;
    QTableView *m_workersView;
    ErrorsModel *m_errors;
    ResultsModel *m_results;
    QTableView *m_errorsView;
    QTableView *m_resultsView;
    ResultsPage *m_resultsPage = nullptr;
    QComboBox *m_category = nullptr;
    QAction *m_retryCategory = nullptr;
    QAction *m_retryAll = nullptr;
    QLabel *m_connectionLabel;
    QAction *m_startAgents = nullptr;
    QAction *m_drain = nullptr;
    QAction *m_stop = nullptr;
    QString m_lastFailure;
    bool m_attaching = false;  // a connection the user asked for is being made
    bool m_closing = false;    // the user closes it: no "lost the connection" box
};

} // namespace SegScale::Ui
