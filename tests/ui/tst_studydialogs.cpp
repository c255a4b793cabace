// The study dialogs through their API, offscreen, on real files: NewStudyDialog with the
// real ESPNet model (card, swatches, fingerprint equal to what the CLI records), then
// DataSourceDialog adding a local folder with a corrupt file and an excluded one — the
// study ends up with the image count of a twin made with `segscale study add` — and bad
// inputs that create nothing. Over SFTP (a real sshd on 127.0.0.1): Test names the failed
// step, an unknown host key opens the host key dialog with its SHA256 fingerprint and
// trusting it writes the known_hosts file the test gave, a changed key cannot be
// trusted, and Count lists the remote folder.

#include "common/clirun.h"
#include "common/sshdfixture.h"
#include "common/testpaths.h"
#include "jobs/jobstore.h"
#include "ui/datasourcedialog.h"
#include "ui/hostkeydialog.h"
#include "ui/mainwindow.h"
#include "ui/modelclassesmodel.h"
#include "ui/newstudydialog.h"
#include "ui/studyconnection.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QColor>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <unistd.h>

using namespace SegScale;
using SegScale::Ui::DataSourceDialog;
using SegScale::Ui::NewStudyDialog;

class StudyDialogsTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_model;

    QString path(const QString &name) const { return m_tmp.filePath(name); }

    Testing::CliRun cli(const QStringList &args)
    {
        return Testing::runCli(Testing::cliPath(), args, 120000);
    }

    // The "images:" line of `segscale study status`.
    qint64 statusImages(const QString &study)
    {
        const auto r = cli({QStringLiteral("study"), QStringLiteral("status"), study});
        static const QRegularExpression line(QStringLiteral("^images:\\s+(\\d+)"), QRegularExpression::MultilineOption);
        const auto m = line.match(r.out);
        return r.code == 0 && m.hasMatch() ? m.captured(1).toLongLong() : -1;
    }

    QByteArray recordedFingerprint(const QString &study)
    {
        auto store = Jobs::JobStore::open(study, Jobs::JobStore::OpenMode::OpenExisting);
        if (!store)
            return {};
        auto settings = (*store)->settings();
        return settings && *settings ? (*settings)->modelFingerprint : QByteArray();
    }

    // Runs one job of the dialog to its end; the outcome of the last job that finished.
    DataSourceDialog::Outcome runJob(DataSourceDialog &dialog, bool (DataSourceDialog::*job)(), DataSourceDialog::Job until)
    {
        QSignalSpy spy(&dialog, &DataSourceDialog::finished);
        if (!(dialog.*job)())
            return {};
        // Only a finished() of this call counts: lastOutcome() still holds the previous job's
        // outcome until then (a second Add right after the first read the first's counts).
        for (int i = 0; i < 3 && !(!spy.isEmpty() && dialog.lastOutcome().job == until && !dialog.isBusy()); ++i)
            if (!spy.wait(60000))
                break;
        return dialog.lastOutcome();
    }

    void makeImages(const QString &dir, int photos)
    {
        QVERIFY(QDir().mkpath(dir + QStringLiteral("/sub")));
        const QDir samples(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList jpgs = samples.entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(jpgs.size() >= photos);
        for (int i = 0; i < photos; ++i)
            QVERIFY(QFile::copy(samples.filePath(jpgs[i]), dir + (i % 2 ? QStringLiteral("/sub/") : QStringLiteral("/")) + jpgs[i]));
        QFile corrupt(dir + QStringLiteral("/corrupt.jpg"));
        QVERIFY(corrupt.open(QIODevice::WriteOnly));
        corrupt.write("\xff\xd8\xff\xe0 this is not a JPEG, it stops here");
        corrupt.close();
        QVERIFY(QFile::copy(samples.filePath(jpgs[0]), dir + QStringLiteral("/skip_me.jpg")));
        QFile notes(dir + QStringLiteral("/notes.txt"));
        QVERIFY(notes.open(QIODevice::WriteOnly));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, path(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("SegScaleTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_studydialogs"));
        qputenv("SEGSCALE_MODEL_CACHE", path(QStringLiteral("cache")).toLocal8Bit());
        if (Testing::cliPath().isEmpty())
            QSKIP("SEGSCALE_CLI is not set: the CLI twin cannot be made");
        m_model = Testing::sharedModel();
        if (!QFileInfo::exists(m_model + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is missing (set SEGSCALE_SHARED_DIR)");
    }

    void modelCard()
    {
        NewStudyDialog dialog;
        QSignalSpy fingerprinted(&dialog, &NewStudyDialog::fingerprintComputed);
        QAbstractItemModelTester tester(dialog.classesModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        dialog.setModelFolder(m_model);
        QVERIFY2(dialog.card().has_value(), qPrintable(dialog.modelError()));
        QVERIFY(dialog.modelError().isEmpty());

        // The 19 Cityscapes classes and "void" (the network's 20th output), each with its
        // palette colour as read from model.json itself.
        QFile f(m_model + QStringLiteral("/model.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject json = QJsonDocument::fromJson(f.readAll()).object();
        const QJsonArray palette = json.value(QStringLiteral("palette")).toArray();
        const QJsonArray classes = json.value(QStringLiteral("classes")).toArray();
        auto *model = dialog.classesModel();
        QCOMPARE(classes.size(), 20);
        QCOMPARE(model->rowCount(), 20);
        QCOMPARE(model->index(19, Ui::ModelClassesModel::NameColumn).data().toString(), QStringLiteral("void"));
        QCOMPARE(model->index(0, Ui::ModelClassesModel::NameColumn).data().toString(), QStringLiteral("road"));
        QCOMPARE(model->index(10, Ui::ModelClassesModel::NameColumn).data().toString(), QStringLiteral("sky"));
        for (int row = 0; row < 20; ++row) {
            const QJsonArray rgb = palette.at(row).toArray();
            const QColor expected(rgb.at(0).toInt(), rgb.at(1).toInt(), rgb.at(2).toInt());
            QCOMPARE(model->index(row, Ui::ModelClassesModel::NameColumn).data().toString(), classes.at(row).toString());
            QCOMPARE(model->index(row, Ui::ModelClassesModel::NameColumn).data(Qt::DecorationRole).value<QColor>(), expected);
            QCOMPARE(model->index(row, Ui::ModelClassesModel::ColourColumn).data().toString(), expected.name());
        }
        QCOMPARE(model->index(0, Ui::ModelClassesModel::NameColumn).data(Qt::DecorationRole).value<QColor>(), QColor(128, 64, 128));

        // The weights' SHA-256 is what `segscale model` prints.
        QVERIFY(fingerprinted.wait(60000) || !dialog.fingerprint().isEmpty());
        const auto shown = cli({QStringLiteral("model"), QStringLiteral("info"), m_model, QStringLiteral("--json")});
        QCOMPARE(shown.code, 0);
        const QJsonObject info = QJsonDocument::fromJson(shown.out.toUtf8()).object();
        QCOMPARE(dialog.weightsSha256(), info.value(QStringLiteral("weights_sha256")).toString());
        QCOMPARE(dialog.fingerprint().size(), 64);
    }

    void createThenAddLocalFolder()
    {
        const QString gui = path(QStringLiteral("gui.db"));
        const QString twin = path(QStringLiteral("twin.db"));
        const QString images = path(QStringLiteral("images"));
        makeImages(images, 4);

        NewStudyDialog dialog;
        dialog.setStudyPath(gui);
        dialog.setModelFolder(m_model);
        dialog.setScales(QStringLiteral("0.75, 1"));
        dialog.setBatch(QStringLiteral("2"));
        dialog.setFlip(false);
        QSignalSpy created(&dialog, &NewStudyDialog::studyCreated);
        QSignalSpy failed(&dialog, &NewStudyDialog::creationFailed);
        QVERIFY2(dialog.create(), qPrintable(dialog.statusText()));
        QVERIFY(created.wait(60000));
        QCOMPARE(failed.count(), 0);
        QCOMPARE(created.first().first().toString(), gui);
        QVERIFY(QFileInfo::exists(gui));
        // The last model is remembered for the picker.
        QVERIFY(NewStudyDialog::standardModelFolders().contains(QDir(m_model).absolutePath()));

        const auto made = cli({QStringLiteral("study"), QStringLiteral("create"), twin, QStringLiteral("--model"), m_model,
                               QStringLiteral("--scales"), QStringLiteral("0.75,1"), QStringLiteral("--batch"), QStringLiteral("2"),
                               QStringLiteral("--no-flip")});
        QVERIFY2(made.code == 0, qPrintable(made.err));
        const QByteArray fingerprint = recordedFingerprint(twin);
        QVERIFY(!fingerprint.isEmpty());
        QCOMPARE(recordedFingerprint(gui), fingerprint);
        QTRY_COMPARE_WITH_TIMEOUT(dialog.fingerprint(), QString::fromLatin1(fingerprint), 60000);

        DataSourceDialog source(gui);
        source.setLocalFolder(images);
        source.setPatterns(QString(), QStringLiteral("skip_*"));
        auto counted = runJob(source, &DataSourceDialog::count, DataSourceDialog::Job::Count);
        QVERIFY2(counted.ok, qPrintable(counted.message));
        QCOMPARE(counted.listed, 5);  // 4 photos and the corrupt one; notes.txt does not match
        QCOMPARE(counted.excluded, 1);
        QVERIFY(source.statusText().contains(QStringLiteral("5 images match")));

        QSignalSpy addedSpy(&source, &DataSourceDialog::imagesAdded);
        auto added = runJob(source, &DataSourceDialog::add, DataSourceDialog::Job::Add);
        QVERIFY2(added.ok, qPrintable(added.message));
        QCOMPARE(added.added, 5);
        QCOMPARE(added.excluded, 1);
        QCOMPARE(addedSpy.count(), 1);

        const auto twinAdd = cli({QStringLiteral("study"), QStringLiteral("add"), twin, images, QStringLiteral("--exclude"),
                                  QStringLiteral("skip_*")});
        QVERIFY2(twinAdd.code == 0, qPrintable(twinAdd.err));
        QCOMPARE(statusImages(gui), 5);
        QCOMPARE(statusImages(gui), statusImages(twin));

        // Adding again picks up nothing new.
        auto again = runJob(source, &DataSourceDialog::add, DataSourceDialog::Job::Add);
        QVERIFY(again.ok);
        QCOMPARE(again.added, 0);
        QCOMPARE(again.skipped, 5);
        QCOMPARE(statusImages(gui), 5);
    }

    // The window's path: New study opens the study embedded, Add data source is enabled,
    // and images added to the file reach the coordinator's summary without anything else.
    void windowCreatesOpensAndAdds()
    {
        Ui::MainWindow window;
        QVERIFY(!window.addDataSourceAction()->isEnabled());
        const QString study = path(QStringLiteral("window.db"));
        NewStudyDialog dialog(&window);
        connect(&dialog, &NewStudyDialog::studyCreated, &window, &Ui::MainWindow::openStudy);
        dialog.setStudyPath(study);
        dialog.setModelFolder(m_model);
        QSignalSpy connected(window.connection(), &Ui::StudyConnection::connected);
        QVERIFY(dialog.create());
        QVERIFY(connected.wait(60000));
        QCOMPARE(window.connection()->database(), QFileInfo(study).absoluteFilePath());
        QVERIFY(window.addDataSourceAction()->isEnabled());

        QJsonObject summary;
        connect(window.connection(), &Ui::StudyConnection::summaryUpdated, this, [&summary](const QJsonObject &s) { summary = s; });
        DataSourceDialog source(window.connection()->database());
        source.setLocalFolder(path(QStringLiteral("images")));
        auto added = runJob(source, &DataSourceDialog::add, DataSourceDialog::Job::Add);
        QVERIFY2(added.ok, qPrintable(added.message));
        QCOMPARE(added.added, 6);  // no exclude pattern this time: skip_me.jpg is in
        QTRY_COMPARE_WITH_TIMEOUT(summary.value(QStringLiteral("total")).toInteger(), 6, 20000);
        QCOMPARE(summary.value(QStringLiteral("pending")).toInteger(), 6);
        window.close();
    }

    // Attached to a remote `segscale serve`, the study file is not this machine's: the
    // menu entry is disabled and says where to add data instead.
    void remoteStudyCannotAddHere()
    {
        for (const char *name : {"agent.token", "admin.token"}) {
            QFile f(path(QString::fromLatin1(name)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(name) + "-0123456789abcdef0123456789\n");
        }
        QProcess serve;
        const QString log = path(QStringLiteral("serve.log"));
        serve.setStandardErrorFile(log);
        serve.start(Testing::cliPath(), {QStringLiteral("serve"), path(QStringLiteral("twin.db")), QStringLiteral("--token-file"),
                                         path(QStringLiteral("agent.token")), QStringLiteral("--admin-token-file"),
                                         path(QStringLiteral("admin.token")), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")});
        auto readLog = [&] {
            QFile f(log);
            return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
        };
        static const QRegularExpression served(QStringLiteral("on (ws://127\\.0\\.0\\.1:\\d+)"));
        QString url;
        QTRY_VERIFY2_WITH_TIMEOUT(!(url = served.match(readLog()).captured(1)).isEmpty() || serve.state() == QProcess::NotRunning,
                                  qPrintable(readLog()), 30000);
        QVERIFY2(!url.isEmpty(), qPrintable(readLog()));
        {
            Ui::MainWindow window;
            window.connectTo(QUrl(url), path(QStringLiteral("admin.token")));
            QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
            QVERIFY(!window.connection()->isEmbedded());
            QVERIFY(window.connection()->database().isEmpty());
            QVERIFY(!window.addDataSourceAction()->isEnabled());
            QVERIFY2(window.addDataSourceAction()->toolTip().contains(QStringLiteral("segscale study add")),
                     qPrintable(window.addDataSourceAction()->toolTip()));
            window.close();
        }
        serve.terminate();
        QVERIFY(serve.waitForFinished(60000));
    }

    void badInputsCreateNothing()
    {
        const QString study = path(QStringLiteral("bad.db"));
        NewStudyDialog dialog;
        dialog.setStudyPath(study);
        dialog.setModelFolder(path(QStringLiteral("no-such-model")));
        QVERIFY(!dialog.card());
        dialog.setScales(QStringLiteral("0,x"));
        dialog.setCrop(QStringLiteral("0"));
        dialog.setBaseSize(QStringLiteral("512"));
        dialog.setDevice(QStringLiteral("gpu7"));
        QSignalSpy failed(&dialog, &NewStudyDialog::creationFailed);
        QVERIFY(!dialog.create());
        QVERIFY2(dialog.fieldError(QStringLiteral("model")).contains(QStringLiteral("does not exist")),
                 qPrintable(dialog.fieldError(QStringLiteral("model"))));
        QVERIFY2(dialog.fieldError(QStringLiteral("scales")).contains(QStringLiteral("\"0\" is not a scale")),
                 qPrintable(dialog.fieldError(QStringLiteral("scales"))));
        QVERIFY2(dialog.fieldError(QStringLiteral("crop")).contains(QStringLiteral("at least 1")),
                 qPrintable(dialog.fieldError(QStringLiteral("crop"))));
        QVERIFY(dialog.fieldError(QStringLiteral("baseSize")).isEmpty());
        QVERIFY(dialog.fieldError(QStringLiteral("device")).contains(QStringLiteral("not a device")));
        QVERIFY(dialog.statusText().contains(QStringLiteral("nothing was created")));
        QVERIFY(!QFileInfo::exists(study));

        // A good model, one bad field: still nothing.
        dialog.setModelFolder(m_model);
        dialog.setDevice(QStringLiteral("cpu"));
        QVERIFY(dialog.fieldError(QStringLiteral("model")).isEmpty());
        dialog.setScales(QStringLiteral("1"));
        dialog.setCrop(QStringLiteral("-3"));
        QVERIFY(!dialog.create());
        QVERIFY(dialog.fieldError(QStringLiteral("scales")).isEmpty());
        QVERIFY(dialog.fieldError(QStringLiteral("crop")).contains(QStringLiteral("\"-3\"")));
        QVERIFY(!QFileInfo::exists(study));

        // A study file that exists already is not overwritten.
        dialog.setCrop(QStringLiteral("473"));
        dialog.setStudyPath(path(QStringLiteral("gui.db")));
        QVERIFY(!dialog.create());
        QVERIFY(dialog.fieldError(QStringLiteral("study")).contains(QStringLiteral("already exists")));
        QCOMPARE(failed.count(), 0);

        // A folder that is not there, or cannot be read: a message, nothing added.
        const qint64 before = statusImages(path(QStringLiteral("gui.db")));
        DataSourceDialog source(path(QStringLiteral("gui.db")));
        source.setLocalFolder(path(QStringLiteral("no-such-folder")));
        auto missing = runJob(source, &DataSourceDialog::add, DataSourceDialog::Job::Add);
        QVERIFY(!missing.ok);
        QVERIFY2(missing.message.contains(QStringLiteral("does not exist")), qPrintable(missing.message));
        if (::geteuid() != 0) {
            const QString locked = path(QStringLiteral("locked"));
            QVERIFY(QDir().mkpath(locked));
            QFile::setPermissions(locked, QFileDevice::Permissions());
            source.setLocalFolder(locked);
            auto unreadable = runJob(source, &DataSourceDialog::add, DataSourceDialog::Job::Add);
            QFile::setPermissions(locked, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
            QVERIFY(!unreadable.ok);
            QVERIFY2(unreadable.message.contains(QStringLiteral("cannot read")), qPrintable(unreadable.message));
        } else {
            qInfo("running as root: an unreadable folder cannot be made, that case is not checked");
        }
        QCOMPARE(statusImages(path(QStringLiteral("gui.db"))), before);

        // Without a study, Add says so.
        DataSourceDialog noStudy(QString{});
        noStudy.setLocalFolder(path(QStringLiteral("images")));
        QVERIFY(!noStudy.add());
        QVERIFY(noStudy.statusText().contains(QStringLiteral("No study")));
    }

    void sftp()
    {
        if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(QStringLiteral("no sshd here: ") + why));
        SshdFixture sshd;
        QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
        const QString remote = sshd.dataDir() + QStringLiteral("/photos");
        makeImages(remote, 3);
        const QString knownHosts = path(QStringLiteral("sftp_known_hosts"));
        const QString credentials = sshd.writeCredentials(QJsonObject{{QStringLiteral("key_file"), sshd.clientKey()}});

        DataSourceDialog dialog(QString{});
        dialog.setSftp(sshd.host(), sshd.port(), sshd.userName(), remote);
        dialog.setKnownHostsFile(knownHosts);
        dialog.setCredentialsFile(credentials);
        QVERIFY(dialog.location().startsWith(QStringLiteral("sftp://")));
        QVERIFY(!dialog.location().contains(QStringLiteral("key")));

        // Count before the key is trusted: refused, and the same question is asked.
        auto early = runJob(dialog, &DataSourceDialog::count, DataSourceDialog::Job::Count);
        QVERIFY(!early.ok);
        QVERIFY(early.report && early.report->failedStep == Storage::ConnectionStep::HostKey);
        QVERIFY(dialog.hostKeyDialog());
        dialog.hostKeyDialog()->reject();

        // Unknown host key: the step is named and the dialog shows the fingerprint.
        auto first = runJob(dialog, &DataSourceDialog::test, DataSourceDialog::Job::Test);
        QVERIFY(!first.ok);
        QVERIFY(first.report && first.report->failedStep == Storage::ConnectionStep::HostKey);
        QVERIFY2(dialog.statusText().contains(QStringLiteral("host key")), qPrintable(dialog.statusText()));
        QVERIFY(dialog.hostKeyDialog());
        QVERIFY(!dialog.hostKeyDialog()->isChanged());
        QVERIFY2(dialog.hostKeyDialog()->text().contains(sshd.hostKeyFingerprint()), qPrintable(dialog.hostKeyDialog()->text()));
        QVERIFY(dialog.hostKeyDialog()->trustButton());

        // Trusting it records it in the file the test gave, then the test passes.
        QSignalSpy spy(&dialog, &DataSourceDialog::finished);
        dialog.hostKeyDialog()->trustButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(dialog.lastOutcome().job == DataSourceDialog::Job::Test && spy.count() >= 2, 60000);
        QVERIFY2(dialog.lastOutcome().ok, qPrintable(dialog.lastOutcome().message));
        QFile hosts(knownHosts);
        QVERIFY(hosts.open(QIODevice::ReadOnly));
        QVERIFY(hosts.readAll().contains(QStringLiteral("[127.0.0.1]:%1").arg(sshd.port()).toLatin1()));
        QVERIFY(dialog.statusText().contains(QStringLiteral("Connection works")));

        // Count over SFTP, with the exclude pattern.
        dialog.setPatterns(QString(), QStringLiteral("skip_*"));
        auto counted = runJob(dialog, &DataSourceDialog::count, DataSourceDialog::Job::Count);
        QVERIFY2(counted.ok, qPrintable(counted.message));
        QCOMPARE(counted.listed, 4);
        QCOMPARE(counted.excluded, 1);

        // A key the server does not know: the authentication step is named.
        const QString stranger = sshd.makeClientKey(QStringLiteral("stranger"), false);
        dialog.setCredentialsFile(sshd.writeCredentials(QJsonObject{{QStringLiteral("key_file"), stranger}}, QStringLiteral("stranger.json")));
        auto refused = runJob(dialog, &DataSourceDialog::test, DataSourceDialog::Job::Test);
        QVERIFY(!refused.ok);
        QVERIFY(refused.report && refused.report->failedStep == Storage::ConnectionStep::Authentication);
        QVERIFY2(dialog.statusText().contains(QStringLiteral("authentication step")), qPrintable(dialog.statusText()));

        // The host's key changes: a strong warning, and no way to trust it from here.
        dialog.setCredentialsFile(credentials);
        QVERIFY(sshd.regenerateHostKey());
        QVERIFY(sshd.restart());
        auto changed = runJob(dialog, &DataSourceDialog::test, DataSourceDialog::Job::Test);
        QVERIFY(!changed.ok);
        QVERIFY(changed.report && changed.report->failedStep == Storage::ConnectionStep::HostKey);
        QVERIFY(dialog.hostKeyDialog());
        QVERIFY(dialog.hostKeyDialog()->isChanged());
        QVERIFY(!dialog.hostKeyDialog()->trustButton());
        QVERIFY(dialog.hostKeyDialog()->text().contains(QStringLiteral("WARNING")));
        QVERIFY(dialog.hostKeyDialog()->text().contains(sshd.hostKeyFingerprint()));
    }

    void screenshots()
    {
        // Where a person can look at the dialogs (SEGSCALE_SCREENSHOT_DIR), else a temp dir.
        const QString dir = qEnvironmentVariable("SEGSCALE_SCREENSHOT_DIR", path(QStringLiteral("shots")));
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(!NewStudyDialog::saveScreenshot(nullptr, m_model, dir + QStringLiteral("/newstudy.png")).isEmpty());
        QVERIFY(!DataSourceDialog::saveScreenshot(nullptr, path(QStringLiteral("gui.db")), dir + QStringLiteral("/datasource.png")).isEmpty());
        for (const auto kind : {Storage::HostKeyProblem::Kind::Unknown, Storage::HostKeyProblem::Kind::Changed}) {
            Storage::HostKeyProblem problem{kind, QStringLiteral("[storage.example.org]:2222"), QStringLiteral("ssh-ed25519"),
                                            QStringLiteral("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"),
                                            QStringLiteral("/home/survey/.ssh/known_hosts")};
            Ui::HostKeyDialog dialog(problem);
            dialog.show();
            QCoreApplication::processEvents();
            const bool changed = kind == Storage::HostKeyProblem::Kind::Changed;
            QVERIFY(dialog.grab().save(dir + (changed ? QStringLiteral("/hostkey-changed.png") : QStringLiteral("/hostkey.png"))));
        }
    }
};

QTEST_MAIN(StudyDialogsTest)
#include "tst_studydialogs.moc"
