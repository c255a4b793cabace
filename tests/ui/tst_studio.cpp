// SegScale Studio end to end, offscreen: a small study made with the CLI is opened in the
// window (embedded coordinator), one local agent is started through the window's action
// and segments it with the real ESPNet model while the Workers and Progress tabs follow;
// then a second window attaches to a separate `segscale serve` with the admin token and
// shows the same totals, and a wrong token is reported, not swallowed. Last, a damaged and
// a non-image file join the study and the Errors tab lists them by category.

#include "ui/errorsmodel.h"
#include "ui/mainwindow.h"
#include "ui/progresspanel.h"
#include "ui/resultsmodel.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"

#include "common/clirun.h"
#include "common/studiosandbox.h"
#include "common/testpaths.h"

#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QMap>
#include <QMessageBox>
#include <QPainter>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <memory>

using SegScale::Testing::cliPath;
using SegScale::Testing::runCli;
using SegScale::Testing::sharedModel;
using SegScale::Ui::ErrorsModel;
using SegScale::Ui::MainWindow;
using SegScale::Ui::ResultsModel;
using SegScale::Ui::StudyConnection;
using SegScale::Ui::WorkersModel;

namespace {

constexpr int kImages = 10;

// What a window last heard: the summary, and the most any agent row ever showed as done.
struct Watch {
    QJsonObject summary;
    qint64 maxDone = 0;
    QStringList agentNames;
    explicit Watch(MainWindow &w)
    {
        QObject::connect(w.connection(), &StudyConnection::summaryUpdated, w.connection(), [this](const QJsonObject &s) { summary = s; });
        WorkersModel *model = w.workersModel();
        // Connected after the window's own slot: the model is already updated here.
        QObject::connect(w.connection(), &StudyConnection::workersUpdated, w.connection(), [this, model] {
            for (int row = 0; row < model->rowCount(); ++row) {
                maxDone = std::max(maxDone, model->index(row, WorkersModel::Done).data().toLongLong());
                const QString name = model->index(row, WorkersModel::Name).data().toString();
                if (!agentNames.contains(name))
                    agentNames << name;
            }
        });
    }
    qint64 count(const char *key) const { return static_cast<qint64>(summary.value(QLatin1StringView(key)).toDouble(-1)); }
};

} // namespace

class TestStudio : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;

    QString path(const QString &name) const { return m_dir.filePath(name); }

    bool writeToken(const QString &name, const QByteArray &token)
    {
        QFile f(path(name));
        return f.open(QIODevice::WriteOnly) && f.write(token + '\n') > 0;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (cliPath().isEmpty() || !QFile::exists(cliPath()))
            QSKIP("SEGSCALE_CLI is not set: build the segscale target");
        if (!QFile::exists(sharedModel() + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        QVERIFY(m_dir.isValid());
        // Settings, the agents' token file and the launched agents' model cache stay in
        // this test's sandbox.
        SegScale::Testing::sandboxStudio(m_dir.path(), QStringLiteral("tst_studio"));

        // A few small street-like pictures: sky, buildings, road.
        const QString images = path(QStringLiteral("images"));
        QVERIFY(QDir().mkpath(images));
        for (int i = 0; i < kImages; ++i) {
            QImage img(160 + 8 * i, 120, QImage::Format_RGB32);
            QPainter p(&img);
            p.fillRect(0, 0, img.width(), 40, QColor(120, 170, 230));
            p.fillRect(0, 40, img.width(), 45, QColor(110 + 10 * i, 100, 90));
            p.fillRect(20 + 5 * i, 50, 30, 35, QColor(60, 140, 60));
            p.fillRect(0, 85, img.width(), 35, QColor(90, 90, 95));
            p.end();
            QVERIFY(img.save(QStringLiteral("%1/street%2.png").arg(images).arg(i)));
        }
        m_db = path(QStringLiteral("study.db"));
        auto created = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("create"), m_db, QStringLiteral("--model"), sharedModel(),
                                      QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("128"),
                                      QStringLiteral("--crop"), QStringLiteral("128"), QStringLiteral("--no-flip")},
                              120000);
        QVERIFY2(created.code == 0, qPrintable(created.err));
        auto added = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("add"), m_db, images}, 120000);
        QVERIFY2(added.code == 0, qPrintable(added.err));
        QVERIFY(writeToken(QStringLiteral("agent.token"), "agent-token-0123456789abcdef"));
        QVERIFY(writeToken(QStringLiteral("admin.token"), "admin-token-0123456789abcdef"));
        QVERIFY(writeToken(QStringLiteral("wrong.token"), "wrong-token-0123456789abcdef"));
    }

    void embeddedStudyWithOneLocalAgent()
    {
        MainWindow window;
        window.connection()->setAgentProgram(cliPath());
        Watch watch(window);
        window.show();
        window.resize(900, 520);
        window.openStudy(m_db);
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
        QVERIFY(window.connection()->isEmbedded());
        QVERIFY(window.connection()->agentUrl().startsWith(QLatin1StringView("ws://127.0.0.1:")));
        QVERIFY(QFile::exists(window.connection()->agentTokenFile()));
        QTRY_COMPARE_WITH_TIMEOUT(watch.count("total"), qint64(kImages), 10000);
        QCOMPARE(watch.count("done"), qint64(0));

        // Start agents… on this machine, one agent (what the dialog sends by default).
        QElapsedTimer timer;
        timer.start();
        window.startLocalAgents(1);
        QTRY_VERIFY2_WITH_TIMEOUT(watch.count("done") == kImages, qPrintable(window.lastFailure()), 300000);
        qInfo("study of %d images segmented by one launched agent in %lld ms", kImages, static_cast<long long>(timer.elapsed()));
        QCOMPARE(watch.count("failed"), qint64(0));
        QCOMPARE(window.progressPanel()->percent(), 100);
        QCOMPARE(window.progressPanel()->etaText(), QStringLiteral("finished"));
        QVERIFY2(watch.maxDone > 0, "the Workers tab never showed the agent's done images");
        QCOMPARE(watch.agentNames.size(), 1);
        QVERIFY(watch.agentNames.first().startsWith(QLatin1StringView("local")));
        // The launched agent keeps its row (and its count) after it leaves.
        QTRY_COMPARE_WITH_TIMEOUT(window.workersModel()->rowCount(), 1, 10000);
        QVERIFY(window.workersModel()->index(0, 0).data(WorkersModel::LaunchIdRole).toString().size() > 0);
        QVERIFY(window.windowTitle().startsWith(QLatin1StringView("100%")));
        QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));

        // Drain on an agent that is gone is refused by the window, with a message.
        const QString tokenFile = window.connection()->agentTokenFile();
        window.close();
        QVERIFY(!window.connection()->isConnected());
        QVERIFY2(!QFile::exists(tokenFile), "the agents' token file outlived its session");

        // Geometry persists.
        MainWindow again;
        QCOMPARE(again.size(), QSize(900, 520));
    }

    void launchedAgentThatNeverConnectsIsStoppedByLaunchId()
    {
        // An "agent" that starts and never connects (a wrong program, a hung node): the
        // Workers tab lists it from the launcher, and Stop reaches it through its launch id.
        const QString fake = path(QStringLiteral("fake-agent.sh"));
        {
            QFile f(fake);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("#!/bin/sh\nexec sleep 300\n");
        }
        QVERIFY(QFile::setPermissions(fake, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
        MainWindow window;
        window.connection()->setAgentProgram(fake);
        window.show();
        window.openStudy(m_db);
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
        window.startLocalAgents(1);
        WorkersModel *model = window.workersModel();
        QTRY_VERIFY_WITH_TIMEOUT(model->rowCount() == 1 && model->index(0, WorkersModel::State).data().toString() == QLatin1StringView("running"),
                                 30000);
        QCOMPARE(model->index(0, 0).data(WorkersModel::ConnectedRole).toBool(), false);
        QVERIFY(!model->index(0, 0).data(WorkersModel::LaunchIdRole).toString().isEmpty());
        window.workersView()->selectRow(0);
        window.stopSelected();
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, WorkersModel::State).data().toString(), QStringLiteral("stopped"), 30000);
        QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
        // Drain needs a connected agent: the window says so instead of doing nothing.
        window.drainSelected();
        QVERIFY2(window.lastFailure().contains(QLatin1StringView("not connected")), qPrintable(window.lastFailure()));
    }

    void remoteServeShowsTheSameTotals()
    {
        QProcess serve;
        const QString log = path(QStringLiteral("serve.log"));
        serve.setStandardErrorFile(log);
        serve.start(cliPath(), {QStringLiteral("serve"), m_db, QStringLiteral("--token-file"), path(QStringLiteral("agent.token")),
                            QStringLiteral("--admin-token-file"), path(QStringLiteral("admin.token")), QStringLiteral("--listen"),
                            QStringLiteral("127.0.0.1:0")});
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
            MainWindow window;
            Watch watch(window);
            window.show();
            window.connectTo(QUrl(url), path(QStringLiteral("admin.token")));
            QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
            QVERIFY(!window.connection()->isEmbedded());
            QTRY_COMPARE_WITH_TIMEOUT(watch.count("done"), qint64(kImages), 10000);
            QCOMPARE(watch.count("total"), qint64(kImages));
            QCOMPARE(watch.count("failed"), qint64(0));
            QCOMPARE(window.progressPanel()->percent(), 100);
            QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
            QCOMPARE(window.workersModel()->rowCount(), 0);

            // Drain and Stop from the Workers tab reach a real agent (one started by hand,
            // --stay so that it idles on the finished study until told otherwise).
            for (const QString &how : {QStringLiteral("drain"), QStringLiteral("stop")}) {
                QProcess agent;
                agent.setProcessChannelMode(QProcess::ForwardedErrorChannel);
                agent.start(cliPath(), {QStringLiteral("agent"), QStringLiteral("--connect"), url, QStringLiteral("--token-file"),
                                    path(QStringLiteral("agent.token")), QStringLiteral("--name"), QStringLiteral("by-hand-") + how,
                                    QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--stay")});
                // Agents that left before stay listed (with why): this one is the last row.
                const QString name = QStringLiteral("by-hand-") + how;
                auto row = [&window, name]() {
                    for (int r = 0; r < window.workersModel()->rowCount(); ++r)
                        if (window.workersModel()->index(r, WorkersModel::Name).data().toString() == name)
                            return r;
                    return -1;
                };
                auto stateOf = [&window, &row]() {
                    return row() < 0 ? QString() : window.workersModel()->index(row(), WorkersModel::State).data().toString();
                };
                QTRY_COMPARE_WITH_TIMEOUT(stateOf(), QStringLiteral("working"), 60000);
                QCOMPARE(window.workersModel()->index(row(), WorkersModel::Launcher).data().toString(), QStringLiteral("external"));
                QCOMPARE(window.workersModel()->index(row(), WorkersModel::Accelerator).data().toString(), QStringLiteral("—"));
                window.workersView()->selectRow(row());
                if (how == QLatin1StringView("drain"))
                    window.drainSelected();
                else
                    window.stopSelected();
                QTRY_VERIFY_WITH_TIMEOUT(agent.state() == QProcess::NotRunning, 30000);
                QCOMPARE(agent.exitStatus(), QProcess::NormalExit);
                // It stays listed as gone, with the coordinator's reason.
                QTRY_VERIFY_WITH_TIMEOUT(stateOf().startsWith(QLatin1StringView("left: ")), 10000);
                QVERIFY2(stateOf().contains(how == QLatin1StringView("drain") ? QLatin1StringView("drained") : QLatin1StringView("stopped")),
                         qPrintable(stateOf()));
                QCOMPARE(window.workersModel()->index(row(), 0).data(WorkersModel::ConnectedRole).toBool(), false);
                QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
            }

            // A refused action is said, in the status bar and a message box.
            window.connection()->drain(QStringLiteral("nobody"));
            QTRY_VERIFY_WITH_TIMEOUT(!window.lastFailure().isEmpty(), 10000);
            QCOMPARE(window.lastFailure(), QStringLiteral("Drain nobody: no agent of that name is connected"));
            QCOMPARE(window.findChildren<QMessageBox *>().size(), 1);
            QVERIFY(window.connection()->isConnected());
        }

        {
            MainWindow window;
            window.show();
            window.connectTo(QUrl(url), path(QStringLiteral("wrong.token")));
            QTRY_VERIFY_WITH_TIMEOUT(!window.lastFailure().isEmpty(), 30000);
            QVERIFY2(window.lastFailure().contains(QLatin1StringView("does not allow the admin role")), qPrintable(window.lastFailure()));
            QVERIFY(!window.connection()->isConnected());
            // The user asked to connect: the answer is a message box, not only the status bar.
            const auto boxes = window.findChildren<QMessageBox *>();
            QCOMPARE(boxes.size(), 1);
            QCOMPARE(boxes.first()->text(), window.lastFailure());
        }

        {
            MainWindow window;
            window.connectTo(QUrl(url), path(QStringLiteral("missing.token")));
            QVERIFY2(window.lastFailure().startsWith(QLatin1StringView("admin token: ")), qPrintable(window.lastFailure()));
            window.connectTo(QUrl(QStringLiteral("http://127.0.0.1:1")), path(QStringLiteral("admin.token")));
            QVERIFY2(window.lastFailure().contains(QLatin1StringView("ws://HOST:PORT")), qPrintable(window.lastFailure()));
        }

        // The coordinator goes away under a connected window: said, not swallowed.
        MainWindow window;
        window.show();
        window.connectTo(QUrl(url), path(QStringLiteral("admin.token")));
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
        serve.terminate();
        QVERIFY(serve.waitForFinished(60000));
        QCOMPARE(serve.exitCode(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!window.connection()->isConnected(), 10000);
        QVERIFY2(window.lastFailure().startsWith(QLatin1StringView("lost the connection to ws://127.0.0.1:")), qPrintable(window.lastFailure()));
        QCOMPARE(window.findChildren<QMessageBox *>().size(), 1);
    }

    // Runs last: the study gains two files that fail, which the cases above do not expect.
    void errorsTabListsFailedFilesByCategory()
    {
        const QString more = path(QStringLiteral("more"));
        QVERIFY(QDir().mkpath(more));
        {
            QFile damaged(more + QStringLiteral("/damaged.png"));  // a PNG signature, then noise
            QVERIFY(damaged.open(QIODevice::WriteOnly));
            damaged.write(QByteArray::fromHex("89504e470d0a1a0a") + QByteArray(2000, '\x5a'));
            QFile text(more + QStringLiteral("/notes.png"));  // text named like a picture
            QVERIFY(text.open(QIODevice::WriteOnly));
            text.write("field notes: camera 3 was pointed at the sky all afternoon\n");
        }
        auto added = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("add"), m_db, more}, 120000);
        QVERIFY2(added.code == 0, qPrintable(added.err));

        MainWindow window;
        window.connection()->setAgentProgram(cliPath());
        Watch watch(window);
        window.show();
        window.openStudy(m_db);
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
        window.startLocalAgents(1);
        QTRY_VERIFY2_WITH_TIMEOUT(watch.count("failed") == 2 && watch.count("pending") == 0 && watch.count("leased") == 0,
                                  qPrintable(window.lastFailure()), 120000);

        window.tabs()->setCurrentIndex(2);
        ErrorsModel *errors = window.errorsModel();
        QTRY_COMPARE_WITH_TIMEOUT(errors->rowCount(), 2, 10000);  // a "changed" push re-read the top
        QMap<QString, QString> categoryOf;
        for (int row = 0; row < errors->rowCount(); ++row)
            categoryOf.insert(QFileInfo(errors->index(row, ErrorsModel::Image).data().toString()).fileName(),
                              errors->index(row, ErrorsModel::Category).data().toString());
        QCOMPARE(categoryOf.value(QStringLiteral("damaged.png")), QStringLiteral("corrupt"));
        QCOMPARE(categoryOf.value(QStringLiteral("notes.png")), QStringLiteral("unsupported"));

        // The filter, through the window's combo box.
        window.categoryBox()->setCurrentIndex(window.categoryBox()->findData(QStringLiteral("unsupported")));
        QTRY_COMPARE_WITH_TIMEOUT(errors->rowCount(), 1, 10000);
        QVERIFY(errors->index(0, ErrorsModel::Message).data().toString().contains(QLatin1StringView("not an image")));

        // Results: every image segmented, one column per class of the model.
        ResultsModel *results = window.resultsModel();
        QTRY_COMPARE_WITH_TIMEOUT(results->rowCount(), kImages, 10000);
        QCOMPARE(results->columnCount(), ResultsModel::FirstClass + watch.summary.value(QStringLiteral("classes")).toArray().size());
        double sum = 0;
        for (int c = ResultsModel::FirstClass; c < results->columnCount(); ++c)
            sum += results->index(0, c).data(Qt::UserRole).toDouble();
        QVERIFY2(qAbs(sum - 1.0) < 0.01, qPrintable(QString::number(sum)));
        window.close();
    }
};

QTEST_MAIN(TestStudio)
#include "tst_studio.moc"
