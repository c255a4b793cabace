#pragma once
// StartAgentsDialog: "Start agents…" of the Workers tab. Three pages — on this machine,
// on an SSH host, as a Slurm job array — whose fields become one admin "launch" request
// (Cluster::Protocol's "launch": kind, count, host, partition, time_limit, program,
// template, args). It only builds the request; StudyConnection sends it, and a refusal
// (an unreachable host, sbatch's complaint) comes back as the launcher's own message.

#include <QDialog>
#include <QJsonObject>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTabWidget;

namespace SegScale::Ui {

class StartAgentsDialog final : public QDialog {
    Q_OBJECT
public:
    enum Page { Local, Ssh, Slurm };
    explicit StartAgentsDialog(QWidget *parent = nullptr);

    void setPage(Page page);
    // Where the agents will connect (the embedded coordinator's ws://127.0.0.1:PORT; empty
    // for a `segscale serve`, which knows its own). A loopback address gets a warning on
    // the SSH and Slurm pages: only this machine can reach it.
    void setAgentUrl(const QString &url);
    QString remoteWarning() const;
    Page page() const;
    // The request for the page shown, or an empty object with problem() saying why
    // (a missing host, an unreadable template file).
    QJsonObject request() const;
    QString problem() const { return m_problem; }

    // The fields, for tests and for restoring the last values.
    QSpinBox *localCount() const { return m_localCount; }
    QSpinBox *localThreads() const { return m_localThreads; }
    QComboBox *localDevice() const { return m_localDevice; }
    QLineEdit *sshHost() const { return m_sshHost; }
    QLineEdit *sshUser() const { return m_sshUser; }
    QSpinBox *sshCount() const { return m_sshCount; }
    QLineEdit *sshProgram() const { return m_sshProgram; }
    QSpinBox *sshThreads() const { return m_sshThreads; }
    QComboBox *sshDevice() const { return m_sshDevice; }
    QLineEdit *slurmPartition() const { return m_slurmPartition; }
    QSpinBox *slurmArray() const { return m_slurmArray; }
    QLineEdit *slurmTemplate() const { return m_slurmTemplate; }
    QLineEdit *slurmLoginHost() const { return m_slurmLogin; }
    QLineEdit *slurmTimeLimit() const { return m_slurmTime; }

    void accept() override;

private:
    QWidget *localPage();
    QWidget *sshPage();
    QWidget *slurmPage();

    QTabWidget *m_tabs;
    QSpinBox *m_localCount = nullptr;
    QSpinBox *m_localThreads = nullptr;
    QComboBox *m_localDevice = nullptr;
    QLineEdit *m_sshHost = nullptr;
    QLineEdit *m_sshUser = nullptr;
    QSpinBox *m_sshCount = nullptr;
    QLineEdit *m_sshProgram = nullptr;
    QSpinBox *m_sshThreads = nullptr;
    QComboBox *m_sshDevice = nullptr;
    QLineEdit *m_slurmPartition = nullptr;
    QSpinBox *m_slurmArray = nullptr;
    QLineEdit *m_slurmTemplate = nullptr;
    QLineEdit *m_slurmLogin = nullptr;
    QLineEdit *m_slurmTime = nullptr;
    QLineEdit *m_slurmProgram = nullptr;
    QSpinBox *m_slurmThreads = nullptr;
    QComboBox *m_slurmDevice = nullptr;
    QLabel *m_sshWarning = nullptr;
    QLabel *m_slurmWarning = nullptr;
    mutable QString m_problem;
};

} // namespace SegScale::Ui
