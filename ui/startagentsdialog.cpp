#include "ui/startagentsdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QUrl>
#include <QVBoxLayout>

namespace SegScale::Ui {
namespace {

QSpinBox *spin(int min, int max, int value, const QString &special = {})
{
    auto *s = new QSpinBox;
    s->setRange(min, max);
    s->setValue(value);
    if (!special.isEmpty())
        s->setSpecialValueText(special);
    return s;
}

QComboBox *deviceBox()
{
    auto *c = new QComboBox;
    c->setEditable(true);  // cuda:1, cuda:2… typed by hand
    c->addItems({QStringLiteral("cpu"), QStringLiteral("cuda"), QStringLiteral("cuda:0"), QStringLiteral("cuda:1")});
    return c;
}

// The agent's own options: --threads (0: its default) and --device.
QJsonArray agentArgs(const QSpinBox *threads, const QComboBox *device)
{
    QJsonArray args;
    if (threads->value() > 0)
        args << QStringLiteral("--threads") << QString::number(threads->value());
    const QString d = device->currentText().trimmed();
    if (!d.isEmpty())
        args << QStringLiteral("--device") << d;
    return args;
}

} // namespace

StartAgentsDialog::StartAgentsDialog(QWidget *parent) : QDialog(parent), m_tabs(new QTabWidget(this))
{
    setWindowTitle(tr("Start agents"));
    setMinimumWidth(560);
    auto *layout = new QVBoxLayout(this);
    m_tabs->addTab(localPage(), tr("This machine"));
    m_tabs->addTab(sshPage(), tr("SSH host"));
    m_tabs->addTab(slurmPage(), tr("Slurm cluster"));
    layout->addWidget(m_tabs);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Start"));
    connect(buttons, &QDialogButtonBox::accepted, this, &StartAgentsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

QWidget *StartAgentsDialog::localPage()
{
    auto *page = new QWidget;
    auto *form = new QFormLayout(page);
    m_localCount = spin(1, 64, 1);
    m_localThreads = spin(0, 256, 0, tr("agent's default"));
    m_localDevice = deviceBox();
    form->addRow(tr("Agents:"), m_localCount);
    form->addRow(tr("Threads each:"), m_localThreads);
    form->addRow(tr("Device:"), m_localDevice);
    auto *note = new QLabel(tr("Each agent is a `segscale agent` process on this machine that joins this study."), page);
    note->setWordWrap(true);
    form->addRow(note);
    return page;
}

QWidget *StartAgentsDialog::sshPage()
{
    auto *page = new QWidget;
    auto *form = new QFormLayout(page);
    m_sshHost = new QLineEdit(page);
    m_sshHost->setPlaceholderText(tr("gpu-node-1 or gpu-node-1:2222"));
    m_sshUser = new QLineEdit(page);
    m_sshUser->setPlaceholderText(tr("your login name there (optional)"));
    m_sshCount = spin(1, 1000, 1);
    m_sshProgram = new QLineEdit(QStringLiteral("segscale"), page);
    m_sshProgram->setToolTip(tr("segscale on the remote host: a name in its PATH or a full path"));
    m_sshThreads = spin(0, 256, 0, tr("agent's default"));
    m_sshDevice = deviceBox();
    form->addRow(tr("Host:"), m_sshHost);
    form->addRow(tr("User:"), m_sshUser);
    form->addRow(tr("Agents:"), m_sshCount);
    form->addRow(tr("segscale there:"), m_sshProgram);
    form->addRow(tr("Threads each:"), m_sshThreads);
    form->addRow(tr("Device:"), m_sshDevice);
    auto *note = new QLabel(tr("Keys come from ssh-agent, ~/.ssh or the credentials file; the host key must already be known. "
                               "The agents connect back to this study's address, which the host must be able to reach."),
                            page);
    note->setWordWrap(true);
    form->addRow(note);
    m_sshWarning = new QLabel(page);
    m_sshWarning->setWordWrap(true);
    m_sshWarning->hide();
    form->addRow(m_sshWarning);
    return page;
}

QWidget *StartAgentsDialog::slurmPage()
{
    auto *page = new QWidget;
    auto *form = new QFormLayout(page);
    m_slurmPartition = new QLineEdit(page);
    m_slurmPartition->setPlaceholderText(tr("the cluster's default"));
    m_slurmArray = spin(1, 1000, 4);
    m_slurmTemplate = new QLineEdit(page);
    m_slurmTemplate->setPlaceholderText(tr("the built-in template"));
    auto *browse = new QPushButton(tr("Browse…"), page);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Slurm batch template"), {}, tr("Batch scripts (*.sh *.sbatch *.slurm);;All files (*)"));
        if (!f.isEmpty())
            m_slurmTemplate->setText(f);
    });
    auto *templateRow = new QHBoxLayout;
    templateRow->addWidget(m_slurmTemplate, 1);
    templateRow->addWidget(browse);
    m_slurmLogin = new QLineEdit(page);
    m_slurmLogin->setPlaceholderText(tr("empty: sbatch runs on this machine"));
    m_slurmTime = new QLineEdit(page);
    m_slurmTime->setPlaceholderText(tr("e.g. 02:00:00; empty: the partition's default"));
    m_slurmProgram = new QLineEdit(QStringLiteral("segscale"), page);
    m_slurmThreads = spin(0, 256, 0, tr("agent's default"));
    m_slurmDevice = deviceBox();
    form->addRow(tr("Partition:"), m_slurmPartition);
    form->addRow(tr("Array size:"), m_slurmArray);
    form->addRow(tr("Template file:"), templateRow);
    form->addRow(tr("Login host:"), m_slurmLogin);
    form->addRow(tr("Time limit:"), m_slurmTime);
    form->addRow(tr("segscale on the nodes:"), m_slurmProgram);
    form->addRow(tr("Threads each:"), m_slurmThreads);
    form->addRow(tr("Device:"), m_slurmDevice);
    m_slurmWarning = new QLabel(page);
    m_slurmWarning->setWordWrap(true);
    m_slurmWarning->hide();
    form->addRow(m_slurmWarning);
    return page;
}

void StartAgentsDialog::setAgentUrl(const QString &url)
{
    const QString host = QUrl(url).host();
    const bool loopback = host == QLatin1StringView("127.0.0.1") || host == QLatin1StringView("localhost") || host == QLatin1StringView("::1");
    const QString text = loopback ? tr("<b>Agents connect to %1, which only this machine can reach.</b> For agents on other hosts, "
                                       "serve the study with <code>segscale serve --listen HOST:PORT</code> and attach to it "
                                       "(File › Connect).")
                                        .arg(url.toHtmlEscaped())
                                  : QString();
    for (QLabel *l : {m_sshWarning, m_slurmWarning}) {
        l->setText(text);
        l->setVisible(loopback);
    }
}

QString StartAgentsDialog::remoteWarning() const
{
    return m_sshWarning->isHidden() ? QString() : m_sshWarning->text();
}

void StartAgentsDialog::setPage(Page page)
{
    m_tabs->setCurrentIndex(static_cast<int>(page));
}

StartAgentsDialog::Page StartAgentsDialog::page() const
{
    return static_cast<Page>(m_tabs->currentIndex());
}

QJsonObject StartAgentsDialog::request() const
{
    m_problem.clear();
    // ssh://user@host:port, as the launchers take it; a host typed as a URL is kept.
    auto sshUrl = [](QString host, const QString &user) -> QString {
        host = host.trimmed();
        if (host.startsWith(QLatin1StringView("ssh://")))
            return host;
        return QStringLiteral("ssh://") + (user.trimmed().isEmpty() ? QString() : user.trimmed() + QLatin1Char('@')) + host;
    };
    switch (page()) {
    case Local:
        return QJsonObject{{QStringLiteral("kind"), QStringLiteral("local")},
                           {QStringLiteral("count"), m_localCount->value()},
                           {QStringLiteral("args"), agentArgs(m_localThreads, m_localDevice)}};
    case Ssh: {
        if (m_sshHost->text().trimmed().isEmpty()) {
            m_problem = tr("Say which host the agents run on.");
            return {};
        }
        const QString url = sshUrl(m_sshHost->text(), m_sshUser->text());
        if (!QUrl(url).isValid() || QUrl(url).host().isEmpty()) {
            m_problem = tr("\"%1\" is not a host name (use host, host:port or ssh://user@host:port).").arg(m_sshHost->text());
            return {};
        }
        QJsonObject r{{QStringLiteral("kind"), QStringLiteral("ssh")},
                      {QStringLiteral("count"), m_sshCount->value()},
                      {QStringLiteral("host"), url},
                      {QStringLiteral("args"), agentArgs(m_sshThreads, m_sshDevice)}};
        if (!m_sshProgram->text().trimmed().isEmpty())
            r.insert(QStringLiteral("program"), m_sshProgram->text().trimmed());
        return r;
    }
    case Slurm: {
        QJsonObject r{{QStringLiteral("kind"), QStringLiteral("slurm")},
                      {QStringLiteral("count"), m_slurmArray->value()},
                      {QStringLiteral("args"), agentArgs(m_slurmThreads, m_slurmDevice)}};
        if (!m_slurmPartition->text().trimmed().isEmpty())
            r.insert(QStringLiteral("partition"), m_slurmPartition->text().trimmed());
        if (!m_slurmTime->text().trimmed().isEmpty())
            r.insert(QStringLiteral("time_limit"), m_slurmTime->text().trimmed());
        if (!m_slurmProgram->text().trimmed().isEmpty())
            r.insert(QStringLiteral("program"), m_slurmProgram->text().trimmed());
        if (!m_slurmLogin->text().trimmed().isEmpty())
            r.insert(QStringLiteral("host"), sshUrl(m_slurmLogin->text(), {}));
        if (const QString path = m_slurmTemplate->text().trimmed(); !path.isEmpty()) {
            QFile f(path);
            if (!f.open(QIODevice::ReadOnly)) {
                m_problem = tr("Cannot read the template %1: %2").arg(path, f.errorString());
                return {};
            }
            const QByteArray text = f.read(65537);
            if (text.size() > 65536) {
                m_problem = tr("The template %1 is larger than 64 KiB.").arg(path);
                return {};
            }
            r.insert(QStringLiteral("template"), QString::fromUtf8(text));
        }
        return r;
    }
    }
    return {};
}

void StartAgentsDialog::accept()
{
    if (request().isEmpty()) {
        QMessageBox::warning(this, windowTitle(), m_problem);
        return;
    }
    QDialog::accept();
}

} // namespace SegScale::Ui
