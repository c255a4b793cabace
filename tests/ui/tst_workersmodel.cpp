// WorkersModel fed with the coordinator's JSON directly: rows come, change and go with
// row inserts/removes and dataChanged (no resets), launched agents merge with the
// connected ones by name, and a silent agent is flagged stalled.

#include "ui/workersmodel.h"

#include <QAbstractItemModelTester>
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
};

QTEST_MAIN(TestWorkersModel)
#include "tst_workersmodel.moc"
