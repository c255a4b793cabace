#include "ui/datasourcedialog.h"

#include "jobs/jobstore.h"
#include "storage/connectiontester.h"
#include "storage/credentials.h"
#include "storage/knownhosts.h"
#include "storage/remotelocation.h"
#include "study/datasetscanner.h"
#include "study/datasetsource.h"
#include "ui/hostkeydialog.h"

#include <QButtonGroup>
#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace SegScale::Ui {

struct DataSourceDialog::Inputs {
    QString location;
    std::optional<Storage::StorageUrl> url;  // SFTP
    Storage::Credentials credentials;
    Storage::StorageOptions options;
    QStringList include;
    QStringList exclude;
};

namespace {

QStringList patterns(const QString &text)
{
    static const QRegularExpression separators(QStringLiteral("[\\s,]+"));
    return text.split(separators, Qt::SkipEmptyParts);
}

QWidget *row(QWidget *parent, QWidget *field, QWidget *button)
{
    auto *box = new QWidget(parent);
    auto *layout = new QHBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(field, 1);
    layout->addWidget(button);
    return box;
}

QString reportText(const Storage::ConnectionReport &report)
{
    if (report.ok())
        return QObject::tr("Connection works: %1 passed%2.")
            .arg(report.passed.isEmpty() ? QObject::tr("every step") : Storage::connectionStepName(report.passed.last()) + QObject::tr(" and every step before"),
                 report.authMethod.isEmpty() ? QString() : QObject::tr(" (logged in with %1)").arg(report.authMethod));
    QString text = QObject::tr("Failed at the %1 step: %2").arg(Storage::connectionStepName(*report.failedStep), report.error.message);
    if (report.connectionLost)
        text += QObject::tr(" (the connection dropped; trying again later may work)");
    return text;
}

} // namespace

// Opening failed: for a server that refused us, ask again step by step, so that the
// message names the step and an unknown or changed host key gets its dialog.
static void explainOpenFailure(DataSourceDialog::Outcome &o, const DataSourceDialog::Inputs &in, const Error &error)
{
    o.message = error.message;
    if (!in.url || error.category != ErrorCategory::Storage)
        return;
    const auto report = Storage::ConnectionTester::run(*in.url, in.credentials, in.options);
    if (report.ok())
        return;
    o.message = reportText(report);
    o.report = report;
}

// Count and Add: the source opened with the dialog's patterns, or nothing with o saying why.
static std::optional<Study::DatasetSource::Opened> openForScan(DataSourceDialog::Outcome &o, const DataSourceDialog::Inputs &in)
{
    auto opened = Study::DatasetSource::open(in.location, in.credentials, in.options);
    if (!opened) {
        explainOpenFailure(o, in, opened.error());
        return std::nullopt;
    }
    opened->dataset.include = in.include;
    opened->dataset.exclude = in.exclude;
    return std::move(*opened);
}

// What a finished (or cancelled) listing says, for the outcome.
static void takeCounts(DataSourceDialog::Outcome &o, const Study::DatasetScanner::Stats &stats)
{
    o.ok = !stats.cancelled;
    o.cancelled = stats.cancelled;
    o.listed = stats.listed;
    o.excluded = stats.excluded;
    o.added = stats.added;
    o.skipped = stats.skipped;
}

DataSourceDialog::DataSourceDialog(const QString &database, QWidget *parent) : QDialog(parent), m_database(database)
{
    setWindowTitle(tr("Add data source"));
    QSettings settings;
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(database.isEmpty() ? tr("No study is open: you can test and count, not add.")
                                                : tr("Adds the images of a folder to <b>%1</b>. Images already in the study are "
                                                     "skipped, so adding a folder again picks up only new files.")
                                                      .arg(QDir::toNativeSeparators(database).toHtmlEscaped()),
                             this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *kinds = new QHBoxLayout;
    m_localButton = new QRadioButton(tr("&Local folder"), this);
    m_sftpButton = new QRadioButton(tr("&SFTP server"), this);
    kinds->addWidget(m_localButton);
    kinds->addWidget(m_sftpButton);
    kinds->addStretch();
    layout->addLayout(kinds);
    auto *group = new QButtonGroup(this);
    group->addButton(m_localButton);
    group->addButton(m_sftpButton);

    m_pages = new QStackedWidget(this);
    auto *localPage = new QWidget(m_pages);
    auto *localForm = new QFormLayout(localPage);
    m_folder = new QLineEdit(settings.value(QStringLiteral("dataSource/folder")).toString(), localPage);
    m_folder->setPlaceholderText(tr("/data/streetview/2024"));
    auto *browse = new QPushButton(tr("&Browse…"), localPage);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Image folder"), m_folder->text());
        if (!d.isEmpty())
            m_folder->setText(d);
    });
    localForm->addRow(tr("&Folder:"), row(localPage, m_folder, browse));
    m_pages->addWidget(localPage);

    auto *sftpPage = new QWidget(m_pages);
    auto *sftpForm = new QFormLayout(sftpPage);
    m_host = new QLineEdit(settings.value(QStringLiteral("dataSource/host")).toString(), sftpPage);
    m_host->setPlaceholderText(QStringLiteral("storage.example.org"));
    sftpForm->addRow(tr("&Host:"), m_host);
    m_port = new QSpinBox(sftpPage);
    m_port->setRange(1, 65535);
    m_port->setValue(settings.value(QStringLiteral("dataSource/port"), 22).toInt());
    sftpForm->addRow(tr("&Port:"), m_port);
    m_user = new QLineEdit(settings.value(QStringLiteral("dataSource/user")).toString(), sftpPage);
    m_user->setPlaceholderText(qEnvironmentVariable("USER"));
    sftpForm->addRow(tr("&User:"), m_user);
    m_remotePath = new QLineEdit(settings.value(QStringLiteral("dataSource/remotePath")).toString(), sftpPage);
    m_remotePath->setPlaceholderText(QStringLiteral("/srv/images/2024"));
    sftpForm->addRow(tr("Remote &folder:"), m_remotePath);
    m_knownHosts = new QLineEdit(sftpPage);
    m_knownHosts->setPlaceholderText(Storage::defaultKnownHostsPath());
    sftpForm->addRow(tr("&Known hosts:"), m_knownHosts);
    m_credentials = new QLineEdit(sftpPage);
    m_credentials->setPlaceholderText(tr("%1 if it exists").arg(Storage::Credentials::defaultPath()));
    sftpForm->addRow(tr("C&redentials file:"), m_credentials);
    auto *keys = new QLabel(tr("Keys come from ssh-agent, then ~/.ssh/id_*, or the credentials file (mode 0600). "
                               "No password or key is stored in the study: it records only sftp://user@host:port."),
                            sftpPage);
    keys->setWordWrap(true);
    sftpForm->addRow(keys);
    m_pages->addWidget(sftpPage);
    layout->addWidget(m_pages);
    connect(m_localButton, &QRadioButton::toggled, this, [this](bool local) { m_pages->setCurrentIndex(local ? 0 : 1); });
    m_localButton->setChecked(true);

    auto *filterBox = new QGroupBox(tr("Which files"), this);
    auto *filters = new QFormLayout(filterBox);
    m_include = new QLineEdit(this);
    m_include->setPlaceholderText(Study::DatasetScanner::defaultIncludes().join(QLatin1Char(' ')) + tr(" (any case)"));
    filters->addRow(tr("&Include:"), m_include);
    m_exclude = new QLineEdit(this);
    m_exclude->setPlaceholderText(tr("e.g. thumbs/* *_mask.png"));
    m_exclude->setToolTip(tr("Matched against the file name and the path relative to the folder."));
    filters->addRow(tr("&Exclude:"), m_exclude);
    layout->addWidget(filterBox);

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(QString());
    layout->addWidget(m_progress);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setMinimumHeight(40);
    layout->addWidget(m_status);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_testButton = buttons->addButton(tr("&Test"), QDialogButtonBox::ActionRole);
    m_countButton = buttons->addButton(tr("C&ount"), QDialogButtonBox::ActionRole);
    m_cancelButton = buttons->addButton(tr("&Cancel job"), QDialogButtonBox::ActionRole);
    m_addButton = buttons->addButton(tr("&Add"), QDialogButtonBox::ActionRole);
    m_testButton->setToolTip(tr("Connect step by step and say which step fails."));
    m_countButton->setToolTip(tr("How many images match, without adding them."));
    connect(m_testButton, &QPushButton::clicked, this, [this] { test(); });
    connect(m_countButton, &QPushButton::clicked, this, [this] { count(); });
    connect(m_addButton, &QPushButton::clicked, this, [this] { add(); });
    connect(m_cancelButton, &QPushButton::clicked, this, &DataSourceDialog::cancel);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &DataSourceDialog::onFinished);
    updateButtons();
    setMinimumWidth(560);
}

DataSourceDialog::~DataSourceDialog()
{
    if (m_cancel)
        m_cancel->store(true);
    m_watcher.waitForFinished();
}

QString DataSourceDialog::saveScreenshot(QWidget *parent, const QString &database, const QString &path)
{
    DataSourceDialog dialog(database, parent);
    dialog.setSftp(QStringLiteral("storage.example.org"), 22, QStringLiteral("survey"), QStringLiteral("/srv/streetview/2024"));
    dialog.setPatterns(QString(), QStringLiteral("thumbs/* *_mask.png"));
    dialog.setStatus(tr("Press Test to check the connection step by step, Count to see how many images match."), false);
    dialog.show();
    QCoreApplication::processEvents();
    const bool saved = dialog.grab().save(path);
    dialog.hide();
    return saved ? path : QString();
}

void DataSourceDialog::setLocalFolder(const QString &path)
{
    m_localButton->setChecked(true);
    m_folder->setText(path);
}

void DataSourceDialog::setSftp(const QString &host, int port, const QString &user, const QString &remotePath)
{
    m_sftpButton->setChecked(true);
    m_host->setText(host);
    m_port->setValue(port);
    m_user->setText(user);
    m_remotePath->setText(remotePath);
}

void DataSourceDialog::setKnownHostsFile(const QString &path) { m_knownHosts->setText(path); }
void DataSourceDialog::setCredentialsFile(const QString &path) { m_credentials->setText(path); }

void DataSourceDialog::setPatterns(const QString &include, const QString &exclude)
{
    m_include->setText(include);
    m_exclude->setText(exclude);
}

bool DataSourceDialog::isSftp() const
{
    return m_sftpButton->isChecked();
}

QString DataSourceDialog::location() const
{
    if (!isSftp())
        return m_folder->text().trimmed();
    QUrl u;
    u.setScheme(QStringLiteral("sftp"));
    u.setUserName(m_user->text().trimmed().isEmpty() ? qEnvironmentVariable("USER") : m_user->text().trimmed());
    u.setHost(m_host->text().trimmed());
    u.setPort(m_port->value());
    QString path = m_remotePath->text().trimmed();
    if (!path.startsWith(QLatin1Char('/')))
        path.prepend(QLatin1Char('/'));
    u.setPath(path, QUrl::DecodedMode);
    return u.toString(QUrl::FullyEncoded);
}

std::optional<DataSourceDialog::Inputs> DataSourceDialog::inputs(bool forAdd)
{
    Inputs in;
    in.location = location();
    in.include = patterns(m_include->text());
    in.exclude = patterns(m_exclude->text());
    if (forAdd && m_database.isEmpty()) {
        setStatus(tr("No study is open to add images to."), true);
        return std::nullopt;
    }
    if (!isSftp()) {
        if (in.location.isEmpty()) {
            setStatus(tr("Choose a folder."), true);
            return std::nullopt;
        }
        return in;
    }
    if (m_host->text().trimmed().isEmpty()) {
        setStatus(tr("Give the server's host name."), true);
        return std::nullopt;
    }
    auto url = Storage::RemoteLocation::parse(in.location);
    if (!url) {
        setStatus(url.error().message, true);
        return std::nullopt;
    }
    in.url = *url;
    const QString credentialsFile = m_credentials->text().trimmed();
    auto credentials = credentialsFile.isEmpty() ? Storage::Credentials::loadDefault() : Storage::Credentials::load(credentialsFile);
    if (!credentials) {
        setStatus(credentials.error().message, true);
        return std::nullopt;
    }
    in.credentials = *credentials;
    in.options.knownHostsPath = m_knownHosts->text().trimmed();
    in.options.connections = 1;
    in.options.maxRetries = 0;
    return in;
}

bool DataSourceDialog::start(Job job, std::function<Outcome(const std::function<void(qint64, qint64)> &)> work)
{
    m_running = job;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    m_progress->setRange(0, 0);  // busy until the first count arrives
    updateButtons();
    // Progress from the worker, a few times a second at most.
    auto timer = std::make_shared<QElapsedTimer>();
    timer->start();
    auto progress = [this, timer](qint64 done, qint64 total) {
        if (timer->elapsed() < 200 && done != total)
            return;
        timer->restart();
        QMetaObject::invokeMethod(
            this,
            [this, done, total] {
                if (!isBusy())
                    return;
                if (total > 0) {
                    m_progress->setRange(0, 1000);
                    m_progress->setValue(int(1000 * done / total));
                    m_progress->setFormat(tr("%1 of %2").arg(done).arg(total));
                } else {
                    m_progress->setRange(0, 0);
                }
                setStatus(total > 0 ? tr("Adding: %1 of %2 images…").arg(done).arg(total) : tr("Listing: %1 files found…").arg(done), false);
            },
            Qt::QueuedConnection);
    };
    m_watcher.setFuture(QtConcurrent::run([work = std::move(work), progress, job] {
        try {
            Outcome o = work(progress);
            o.job = job;
            return o;
        } catch (const std::exception &e) {
            Outcome o;
            o.job = job;
            o.message = QStringLiteral("internal error: %1").arg(QString::fromLocal8Bit(e.what()));
            return o;
        }
    }));
    return true;
}

bool DataSourceDialog::test()
{
    if (isBusy())
        return false;
    auto in = inputs(false);
    if (!in)
        return false;
    setStatus(tr("Testing %1…").arg(in->location), false);
    return start(Job::Test, [in = *in](const auto &) {
        Outcome o;
        if (!in.url) {
            auto opened = Study::DatasetSource::openLocal(in.location);
            o.ok = bool(opened);
            o.message = opened ? QObject::tr("%1 can be read.").arg(opened->where) : opened.error().message;
            return o;
        }
        o.report = Storage::ConnectionTester::run(*in.url, in.credentials, in.options);
        o.ok = o.report->ok();
        o.message = reportText(*o.report);
        return o;
    });
}

bool DataSourceDialog::count()
{
    if (isBusy())
        return false;
    auto in = inputs(false);
    if (!in)
        return false;
    setStatus(tr("Counting the images under %1…").arg(in->location), false);
    return start(Job::Count, [in = *in, cancel = m_cancel](const auto &progress) {
        Outcome o;
        auto opened = openForScan(o, in);
        if (!opened)
            return o;
        auto stats = Study::DatasetScanner::count(*opened->folder, opened->dataset,
                                                  [&](const Study::DatasetScanner::Progress &p) { progress(p.done, p.total); },
                                                  cancel.get());
        if (!stats) {
            o.message = stats.error().message;
            return o;
        }
        takeCounts(o, *stats);
        o.message = (stats->listed == 1 ? QObject::tr("%1 image matches under %2") : QObject::tr("%1 images match under %2"))
                        .arg(stats->listed)
                        .arg(opened->where);
        if (stats->excluded)
            o.message += QObject::tr(" (%1 left out by the exclude patterns)").arg(stats->excluded);
        o.message += QLatin1Char('.');
        return o;
    });
}

bool DataSourceDialog::add()
{
    if (isBusy())
        return false;
    auto in = inputs(true);
    if (!in)
        return false;
    setStatus(tr("Adding the images under %1…").arg(in->location), false);
    return start(Job::Add, [in = *in, database = m_database, cancel = m_cancel](const auto &progress) {
        Outcome o;
        auto opened = openForScan(o, in);
        if (!opened)
            return o;
        // Its own connection, opened and closed on this thread; the coordinator sees the
        // new pending images in the database and leases them.
        auto store = Jobs::JobStore::open(database, Jobs::JobStore::OpenMode::OpenExisting);
        if (!store) {
            o.message = store.error().message;
            return o;
        }
        Study::DatasetScanner scanner(**store, *opened->folder);
        scanner.setBatchSize(5000);
        auto stats = scanner.scan(opened->dataset, [&](const Study::DatasetScanner::Progress &p) { progress(p.done, p.total); },
                                  cancel.get());
        if (!stats) {
            o.message = stats.error().message;
            return o;
        }
        takeCounts(o, *stats);
        o.message = QObject::tr("Added %1 images from %2 (%3 already in the study").arg(stats->added).arg(opened->where).arg(stats->skipped);
        if (stats->excluded)
            o.message += QObject::tr(", %1 excluded").arg(stats->excluded);
        o.message += QStringLiteral(").");
        if (stats->cancelled)
            o.message += QObject::tr(" Cancelled: what was added so far stays; adding again picks up the rest.");
        else if (stats->listed == 0)
            o.message += QObject::tr(" No file matches the include patterns.");
        return o;
    });
}

void DataSourceDialog::cancel()
{
    if (m_cancel)
        m_cancel->store(true);
    if (isBusy())
        setStatus(tr("Cancelling…"), false);
}

void DataSourceDialog::onFinished()
{
    m_last = m_watcher.result();
    m_running = Job::None;
    m_progress->setRange(0, 1);
    m_progress->setValue(m_last.ok ? 1 : 0);
    m_progress->setFormat(m_last.ok ? tr("done") : QString());
    if (!m_last.ok)
        m_progress->setValue(0);
    setStatus(m_last.message, !m_last.ok && !m_last.cancelled);
    updateButtons();
    if (m_last.job == Job::Add && m_last.added > 0)
        Q_EMIT imagesAdded(m_last.added);
    if (m_last.ok && m_last.job != Job::TrustKey) {
        QSettings settings;
        settings.setValue(QStringLiteral("dataSource/folder"), m_folder->text().trimmed());
        settings.setValue(QStringLiteral("dataSource/host"), m_host->text().trimmed());
        settings.setValue(QStringLiteral("dataSource/port"), m_port->value());
        settings.setValue(QStringLiteral("dataSource/user"), m_user->text().trimmed());
        settings.setValue(QStringLiteral("dataSource/remotePath"), m_remotePath->text().trimmed());
    }
    const Outcome outcome = m_last;
    Q_EMIT finished(outcome);
    if (outcome.job != Job::TrustKey && outcome.report && outcome.report->hostKeyProblem)
        askAboutHostKey(*outcome.report->hostKeyProblem);
    else if (outcome.job == Job::TrustKey && outcome.ok)
        test();  // the whole way again, now with the key trusted
}

void DataSourceDialog::askAboutHostKey(const Storage::HostKeyProblem &problem)
{
    if (m_hostKey)
        m_hostKey->deleteLater();
    m_hostKey = new HostKeyDialog(problem, this);
    m_hostKey->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_hostKey, &QDialog::accepted, this, [this, problem] {
        auto in = inputs(false);
        if (!in || !in->url)
            return;
        setStatus(tr("Trusting %1 (%2)…").arg(problem.host, problem.fingerprint), false);
        start(Job::TrustKey, [url = *in->url, problem](const auto &) {
            Outcome o;
            auto accepted = Storage::acceptHostKey(url, problem.fingerprint, problem.knownHostsPath);
            o.ok = bool(accepted);
            o.message = accepted ? QObject::tr("Trusted %1 key %2 in %3.").arg(problem.host, problem.fingerprint, problem.knownHostsPath)
                                 : accepted.error().message;
            return o;
        });
    });
    m_hostKey->open();
}

QString DataSourceDialog::statusText() const
{
    return m_status->text();
}

void DataSourceDialog::setStatus(const QString &text, bool error)
{
    m_status->setText(text);
    m_status->setStyleSheet(error ? QStringLiteral("color: #c00000") : QString());
}

void DataSourceDialog::updateButtons()
{
    const bool busy = m_running != Job::None;
    m_testButton->setEnabled(!busy);
    m_countButton->setEnabled(!busy);
    m_addButton->setEnabled(!busy && !m_database.isEmpty());
    m_addButton->setToolTip(m_database.isEmpty() ? tr("Open a study first.") : tr("Add the matching images to the study."));
    m_cancelButton->setEnabled(busy && (m_running == Job::Count || m_running == Job::Add));
}

} // namespace SegScale::Ui
