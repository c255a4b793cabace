// WorkersModel fed with the coordinator's JSON directly: rows come, change and go with
// row inserts/removes and dataChanged (no resets), launched agents merge with the
// connected ones by name, and a silent agent is flagged stalled.

#include "ui/workersmodel.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QGuiApplication>
#include <QPalette>
#include <QJsonArray>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

using SegScale::Ui::WorkersModel;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

QJsonObject worker(const QString &name, qint64 done, qint64 heartbeatAgoMs, const QString &state = QStringLiteral("working"))
{
    return QJsonObject{{QStringLiteral("name"), name},
                       {QStringLiteral("host"), QString(QStringLiteral("node-") + name)},
                       {QStringLiteral("device"), QStringLiteral("cpu")},
                       {QStringLiteral("state"), state},
                       {QStringLiteral("held"), 4},
                       {QStringLiteral("done"), static_cast<double>(done)},
                       {QStringLiteral("failed"), 1},
                       {QStringLiteral("last_heartbeat"), static_cast<double>(kNow - heartbeatAgoMs)},
                       {QStringLiteral("stats"), QJsonObject{{QStringLiteral("images_per_second"), 2.5}, {QStringLiteral("rss_mib"), 812.4}}}};
}

QJsonObject launched(const QString &id, const QString &name, const QString &state, int exitCode = 0)
{
    return QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("name"), name}, {QStringLiteral("kind"), QStringLiteral("local")},
                       {QStringLiteral("state"), state}, {QStringLiteral("exit_code"), exitCode}, {QStringLiteral("detail"), QString()}};
}

QString cell(const WorkersModel &m, int row, int column)
{
    return m.index(row, column).data().toString();
}

} // namespace

class TestWorkersModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rowsComeChangeAndGo()
    {
        WorkersModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);

        model.update({worker(QStringLiteral("a"), 10, 1000), worker(QStringLiteral("b"), 20, 3000)}, {}, kNow);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.columnCount(), int(WorkersModel::ColumnCount));
        QCOMPARE(inserts.size(), 1);
        QCOMPARE(cell(model, 0, WorkersModel::Name), QStringLiteral("a"));
        QCOMPARE(cell(model, 0, WorkersModel::Host), QStringLiteral("node-a"));
        QCOMPARE(cell(model, 0, WorkersModel::State), QStringLiteral("working"));
        QCOMPARE(cell(model, 0, WorkersModel::ImagesPerSecond), QStringLiteral("2.50"));
        QCOMPARE(cell(model, 0, WorkersModel::Held), QStringLiteral("4"));
        QCOMPARE(cell(model, 1, WorkersModel::Done), QStringLiteral("20"));
        QCOMPARE(cell(model, 0, WorkersModel::Failed), QStringLiteral("1"));
        QCOMPARE(cell(model, 0, WorkersModel::RssMib), QStringLiteral("812"));
        QCOMPARE(cell(model, 1, WorkersModel::LastHeartbeat), QStringLiteral("3 s ago"));
        QCOMPARE(model.headerData(WorkersModel::RssMib, Qt::Horizontal).toString(), QStringLiteral("RSS MiB"));

        // The same list again: nothing changes, nothing is signalled.
        changes.clear();
        model.update({worker(QStringLiteral("a"), 10, 1000), worker(QStringLiteral("b"), 20, 3000)}, {}, kNow);
        QCOMPARE(changes.size(), 0);

        // b progresses, c joins: one dataChanged for b's row, one insert for c.
        model.update({worker(QStringLiteral("a"), 10, 1000), worker(QStringLiteral("b"), 25, 1000),
                      worker(QStringLiteral("c"), 0, 0, QStringLiteral("checking"))},
                     {}, kNow);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(changes.size(), 1);
        QCOMPARE(changes.first().at(0).toModelIndex().row(), 1);
        QCOMPARE(changes.first().at(1).toModelIndex().column(), WorkersModel::ColumnCount - 1);
        QCOMPARE(inserts.size(), 2);
        QCOMPARE(cell(model, 1, WorkersModel::Done), QStringLiteral("25"));
        QCOMPARE(cell(model, 2, WorkersModel::State), QStringLiteral("checking"));

        // a leaves (not launched by this coordinator): its row goes; order is kept.
        model.update({worker(QStringLiteral("b"), 25, 1000), worker(QStringLiteral("c"), 0, 0)}, {}, kNow);
        QCOMPARE(removes.size(), 1);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(cell(model, 0, WorkersModel::Name), QStringLiteral("b"));
        QCOMPARE(cell(model, 1, WorkersModel::Name), QStringLiteral("c"));

        model.update({}, {}, kNow);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(resets.size(), 0);  // minimal updates, never a reset
    }

    void launchedAgentsMergeByName()
    {
        WorkersModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        // Launched, not yet connected: a row from the launcher.
        model.update({}, {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("starting"))}, kNow);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(cell(model, 0, WorkersModel::State), QStringLiteral("starting"));
        QCOMPARE(cell(model, 0, WorkersModel::ImagesPerSecond), QStringLiteral("–"));  // no heartbeat yet
        QCOMPARE(model.index(0, 0).data(WorkersModel::ConnectedRole).toBool(), false);
        QCOMPARE(model.index(0, 0).data(WorkersModel::LaunchIdRole).toString(), QStringLiteral("1/local:1"));

        // Connected: the same row, now with the coordinator's view of it.
        model.update({worker(QStringLiteral("local-1"), 7, 500)},
                     {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("running"))}, kNow);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(cell(model, 0, WorkersModel::State), QStringLiteral("working"));
        QCOMPARE(cell(model, 0, WorkersModel::Done), QStringLiteral("7"));
        QCOMPARE(model.index(0, 0).data(WorkersModel::ConnectedRole).toBool(), true);

        // Exited: the row stays with the counts it last had.
        model.update({}, {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("exited"), 0)}, kNow);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(cell(model, 0, WorkersModel::State), QStringLiteral("exited (0)"));
        QCOMPARE(cell(model, 0, WorkersModel::Done), QStringLiteral("7"));
        QCOMPARE(cell(model, 0, WorkersModel::Held), QString());

        // A refused agent (check images differ) shows why.
        model.update({QJsonObject{{QStringLiteral("name"), QStringLiteral("odd")}, {QStringLiteral("state"), QStringLiteral("refused")},
                                  {QStringLiteral("detail"), QStringLiteral("check images differ")}}},
                     {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("exited"), 0)}, kNow);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(cell(model, 1, WorkersModel::State), QStringLiteral("refused: check images differ"));
        // The coordinator's own words start with "refused:" already: said once.
        model.update({QJsonObject{{QStringLiteral("name"), QStringLiteral("odd")}, {QStringLiteral("state"), QStringLiteral("refused")},
                                  {QStringLiteral("detail"), QStringLiteral("refused: the check images differ on this agent: 91.2% agree")}}},
                     {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("exited"), 0)}, kNow);
        QCOMPARE(cell(model, 1, WorkersModel::State), QStringLiteral("refused: the check images differ on this agent: 91.2% agree"));
        QCOMPARE(model.index(1, 0).data(WorkersModel::StalledRole).toBool(), false);
    }

    void silentAgentIsStalled()
    {
        WorkersModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setHeartbeatSeconds(10);
        model.update({worker(QStringLiteral("fresh"), 1, 19'000), worker(QStringLiteral("silent"), 1, 21'000)}, {}, kNow);
        QCOMPARE(model.index(0, 0).data(WorkersModel::StalledRole).toBool(), false);
        QVERIFY(!model.index(0, 3).data(Qt::BackgroundRole).isValid());
        QCOMPARE(model.index(1, 0).data(WorkersModel::StalledRole).toBool(), true);
        QVERIFY(model.index(1, 3).data(Qt::BackgroundRole).isValid());
        QCOMPARE(cell(model, 1, WorkersModel::State), QStringLiteral("working (stalled)"));

        // It comes back: the flag goes with a dataChanged of its row.
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
        model.update({worker(QStringLiteral("fresh"), 1, 19'000), worker(QStringLiteral("silent"), 2, 1'000)}, {}, kNow);
        QCOMPARE(changes.size(), 1);
        QCOMPARE(model.index(1, 0).data(WorkersModel::StalledRole).toBool(), false);

        // Unknown interval: 60 s.
        WorkersModel unknown;
        unknown.update({worker(QStringLiteral("a"), 1, 59'000), worker(QStringLiteral("b"), 1, 61'000)}, {}, kNow);
        QCOMPARE(unknown.index(0, 0).data(WorkersModel::StalledRole).toBool(), false);
        QCOMPARE(unknown.index(1, 0).data(WorkersModel::StalledRole).toBool(), true);
        QCOMPARE(unknown.index(1, WorkersModel::LastHeartbeat).data().toString(), QStringLiteral("61 s ago"));
    }

    void launcherAcceleratorAndDeparture()
    {
        WorkersModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject gpu = worker(QStringLiteral("gpu-1"), 3, 1000);
        gpu.insert(QStringLiteral("device"), QStringLiteral("cuda:0"));
        gpu.insert(QStringLiteral("accelerator"), QJsonObject{{QStringLiteral("device"), QStringLiteral("cuda:0")},
                                                              {QStringLiteral("name"), QStringLiteral("NVIDIA H200")},
                                                              {QStringLiteral("memory_used_mib"), 2048},
                                                              {QStringLiteral("memory_total_mib"), 143771},
                                                              {QStringLiteral("utilization_percent"), 87}});
        model.update({worker(QStringLiteral("local-1"), 1, 1000), gpu},
                     {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("running"))}, kNow);
        QCOMPARE(cell(model, 0, WorkersModel::Launcher), QStringLiteral("local"));
        QCOMPARE(cell(model, 1, WorkersModel::Launcher), QStringLiteral("external"));
        // A CPU agent reports no accelerator: a dash, never a number.
        QCOMPARE(cell(model, 0, WorkersModel::Accelerator), QStringLiteral("—"));
        const QString acc = cell(model, 1, WorkersModel::Accelerator);
        QVERIFY2(acc.startsWith(QStringLiteral("cuda:0 · ")) && acc.contains(QLatin1StringView("MiB")) && acc.endsWith(QLatin1StringView("87% busy")),
                 qPrintable(acc));
        QVERIFY(model.index(1, WorkersModel::Accelerator).data(Qt::ToolTipRole).toString().contains(QLatin1StringView("NVIDIA H200")));

        // The GPU agent leaves: its row stays, with why and its last counts; not drainable.
        QJsonObject left{{QStringLiteral("name"), QStringLiteral("gpu-1")}, {QStringLiteral("state"), QStringLiteral("left")},
                         {QStringLiteral("detail"), QStringLiteral("drained: finished its images and said goodbye")},
                         {QStringLiteral("host"), QStringLiteral("node-gpu-1")}, {QStringLiteral("done"), 5}, {QStringLiteral("failed"), 0},
                         {QStringLiteral("last_heartbeat"), static_cast<double>(kNow - 5000)}};
        model.update({worker(QStringLiteral("local-1"), 1, 1000), left},
                     {launched(QStringLiteral("1/local:1"), QStringLiteral("local-1"), QStringLiteral("running"))}, kNow);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(cell(model, 1, WorkersModel::State), QStringLiteral("left: drained: finished its images and said goodbye"));
        QCOMPARE(cell(model, 1, WorkersModel::Done), QStringLiteral("5"));
        QCOMPARE(model.index(1, 0).data(WorkersModel::ConnectedRole).toBool(), false);
        QCOMPARE(model.index(1, 0).data(WorkersModel::StalledRole).toBool(), false);
    }

    void stalledColourFollowsThePalette()
    {
        const QPalette original = QGuiApplication::palette();
        WorkersModel model;
        model.setHeartbeatSeconds(10);
        model.update({worker(QStringLiteral("silent"), 1, 60'000)}, {}, kNow);
        QVERIFY(model.index(0, 0).data(WorkersModel::StalledRole).toBool());
        QVERIFY(model.index(0, 0).data(Qt::ToolTipRole).toString().contains(QLatin1StringView("No heartbeat for 60 s")));
        for (const QColor &base : {QColor(250, 250, 250), QColor(30, 30, 32)}) {
            QPalette p = original;
            p.setColor(QPalette::Base, base);
            QGuiApplication::setPalette(p);
            const QColor tint = model.index(0, 0).data(Qt::BackgroundRole).value<QBrush>().color();
            // A warm tint of the base: as light or dark as the base within a margin, so the
            // palette's text colour stays readable on it; warmer than it (more red than blue).
            QVERIFY2(std::abs(tint.lightness() - base.lightness()) < 110, qPrintable(tint.name()));
            QVERIFY2(tint.red() > tint.blue() + 40, qPrintable(tint.name()));
        }
        QGuiApplication::setPalette(original);
    }
};

QTEST_MAIN(TestWorkersModel)
#include "tst_workersmodel.moc"
