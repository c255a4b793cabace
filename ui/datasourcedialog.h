#pragma once
// DataSourceDialog: Study > Add data source…. A local folder or a folder on an SFTP
// server (host, port, user, remote path; keys from ssh-agent, ~/.ssh or the credentials
// file — the study records only sftp://user@host:port), include/exclude patterns, and
// three jobs, each on a worker thread: Test (Storage::ConnectionTester, naming the step
// that failed; an unknown or changed host key opens a HostKeyDialog with its SHA256
// fingerprint), Count (Study::DatasetScanner::count: how many images match) and Add
// (Study::DatasetSource + DatasetScanner::scan, what `segscale study add` runs) into the
// study file of an embedded coordinator, which then leases the new images by itself.
//
// Tests drive it without exec(): set the fields, call test()/count()/add(), wait for
// finished(); hostKeyDialog() is shown non-modally.

#include "storage/connectionreport.h"
#include "ui/hostkeydialog.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QPointer>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

class QButtonGroup;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QStackedWidget;

namespace SegScale::Ui {

class DataSourceDialog final : public QDialog {
    Q_OBJECT
public:
    enum class Job { None, Test, Count, Add, TrustKey };
    // What a job ended with (also what finished() carries).
    struct Outcome {
        Job job = Job::None;
        bool ok = false;
        bool cancelled = false;
        QString message;  // readable, shown in the dialog
        std::optional<Storage::ConnectionReport> report;  // Test
        qint64 listed = 0, excluded = 0, added = 0, skipped = 0;
    };

    struct Inputs;  // what the fields say, checked (datasourcedialog.cpp)

    // `database`: the open study's file (embedded coordinator); empty: Add is disabled.
    explicit DataSourceDialog(const QString &database, QWidget *parent = nullptr);
    ~DataSourceDialog() override;

    // Shows a dialog for `database` non-modally and saves it as a PNG; the path, or empty.
    static QString saveScreenshot(QWidget *parent, const QString &database, const QString &path);

    void setLocalFolder(const QString &path);
    void setSftp(const QString &host, int port, const QString &user, const QString &remotePath);
    // Empty: ~/.ssh/known_hosts and the default credentials file (if there is one).
    void setKnownHostsFile(const QString &path);
    void setCredentialsFile(const QString &path);
    // Space- or comma-separated glob patterns.
    void setPatterns(const QString &include, const QString &exclude);

    bool isSftp() const;
    // What `segscale study add` would be given: the local path or the sftp:// URL (no secret).
    QString location() const;

    // Each starts a job unless one is running (false then, or when the fields are bad:
    // the message says why and finished() does not follow).
    bool test();
    bool count();
    bool add();
    void cancel();
    bool isBusy() const { return m_watcher.isRunning(); }
    const Outcome &lastOutcome() const { return m_last; }
    QString statusText() const;
    // Set while a host key question is open (non-modal).
    HostKeyDialog *hostKeyDialog() const { return m_hostKey; }

Q_SIGNALS:
    void finished(const DataSourceDialog::Outcome &outcome);
    // Images were added to the study (the coordinator leases them from the database).
    void imagesAdded(qint64 added);

private:
    std::optional<Inputs> inputs(bool forAdd);
    bool start(Job job, std::function<Outcome(const std::function<void(qint64, qint64)> &progress)> work);
    void onFinished();
    void askAboutHostKey(const Storage::HostKeyProblem &problem);
    void setStatus(const QString &text, bool error);
    void updateButtons();

    QString m_database;
    QRadioButton *m_localButton;
    QRadioButton *m_sftpButton;
    QStackedWidget *m_pages;
    QLineEdit *m_folder;
    QLineEdit *m_host;
    QSpinBox *m_port;
    QLineEdit *m_user;
    QLineEdit *m_remotePath;
    QLineEdit *m_knownHosts;
    QLineEdit *m_credentials;
    QLineEdit *m_include;
    QLineEdit *m_exclude;
    QLabel *m_status;
    QProgressBar *m_progress;
    QPushButton *m_testButton;
    QPushButton *m_countButton;
    QPushButton *m_addButton;
    QPushButton *m_cancelButton;
    QPointer<HostKeyDialog> m_hostKey;
    QFutureWatcher<Outcome> m_watcher;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    Job m_running = Job::None;
    Outcome m_last;
};

} // namespace SegScale::Ui
