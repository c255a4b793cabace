// `segscale study ...` end to end: the real executable on a temp folder of small files
// and the real Cityscapes model card. Results are recorded through JobStore in between
// (no inference here), then status, errors, export, retry and reset are checked.

#include "common/clirun.h"
#include "jobs/jobstore.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using namespace SegScale;
using namespace SegScale::Jobs;

namespace {

using Run = SegScale::Testing::CliRun;

QList<QStringList> parseCsv(const QByteArray &bytes)
{
    const QString text = QString::fromUtf8(bytes);
    QList<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false, started = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (quoted) {
            if (c == QLatin1Char('"') && i + 1 < text.size() && text[i + 1] == QLatin1Char('"')) {
                field += c;
                ++i;
            } else if (c == QLatin1Char('"')) {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"') && !started) {
            quoted = started = true;
        } else if (c == QLatin1Char(',')) {
            row.append(field);
            field.clear();
            started = false;
        } else if (c == QLatin1Char('\r') && i + 1 < text.size() && text[i + 1] == QLatin1Char('\n')) {
            row.append(field);
            rows.append(row);
            row.clear();
            field.clear();
            started = false;
            ++i;
        } else {
            field += c;
            started = true;
        }
    }
    return rows;
}

} // namespace

class TestStudyCli : public QObject {
    Q_OBJECT

    QString m_cli;
    QString m_model;
    QTemporaryDir m_dir;

    Run run(const QStringList &args)
    {
        return SegScale::Testing::runCli(m_cli, QStringList{QStringLiteral("study")} + args, 120'000);
    }

    static void touch(const QString &path, int bytes)
    {
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(bytes, 'x'));
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_cli = qEnvironmentVariable("SEGSCALE_CLI");
        if (m_cli.isEmpty() || !QFileInfo(m_cli).isExecutable())
            QSKIP("SEGSCALE_CLI does not name a built segscale executable (build the segscale target)");
        m_model = qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/models/espnet-cityscapes");
        if (!QFileInfo::exists(m_model + QStringLiteral("/model.json")))
            QSKIP("no model card at $SEGSCALE_SHARED_DIR/models/espnet-cityscapes (../shared is absent)");
        QVERIFY(m_dir.isValid());
    }

    void usageErrors()
    {
        QCOMPARE(run({}).code, 2);
        QCOMPARE(run({QStringLiteral("--help")}).code, 0);
        QCOMPARE(run({QStringLiteral("frobnicate")}).code, 2);
        for (const char *sub : {"create", "add", "status", "errors", "retry", "reset", "export"}) {
            const Run r = run({QLatin1StringView(sub), QStringLiteral("--help")});
            QCOMPARE(r.code, 0);
            QVERIFY2(r.out.startsWith(QStringLiteral("Usage: segscale study ") + QLatin1StringView(sub)), qPrintable(r.out));
        }
        const QString db = m_dir.filePath(QStringLiteral("usage.db"));
        QCOMPARE(run({QStringLiteral("create"), db}).code, 2);  // no --model
        QCOMPARE(run({QStringLiteral("create"), db, QStringLiteral("--model"), m_model, QStringLiteral("--crop"), QStringLiteral("abc")}).code, 2);
        QCOMPARE(run({QStringLiteral("create"), db, QStringLiteral("--model"), m_dir.filePath(QStringLiteral("no-model"))}).code, 2);
        QVERIFY(!QFile::exists(db));
        QCOMPARE(run({QStringLiteral("status"), db}).code, 2);  // missing study
        QCOMPARE(run({QStringLiteral("status"), db, QStringLiteral("--bogus")}).code, 2);
        QCOMPARE(run({QStringLiteral("create"), db, QStringLiteral("--model"), m_model, QStringLiteral("--precision"), QStringLiteral("fp8")}).code, 2);
        QVERIFY(!QFile::exists(db));
    }

    // The precision is one of the settings a study records: a run takes it from the study,
    // refuses fp16 without CUDA, and never mixes it with another without --new-run.
    void precisionIsASetting()
    {
        const QString db = m_dir.filePath(QStringLiteral("half.db"));
        const Run created = run({QStringLiteral("create"), db, QStringLiteral("--model"), m_model, QStringLiteral("--precision"), QStringLiteral("fp16")});
        QVERIFY2(created.code == 0, qPrintable(created.err));
        QVERIFY2(created.out.contains(QStringLiteral("precision fp16")), qPrintable(created.out));
        const Run onCpu = run({QStringLiteral("run"), db});
        QCOMPARE(onCpu.code, 2);
        QVERIFY2(onCpu.err.contains(QStringLiteral("fp16")) && onCpu.err.contains(QStringLiteral("--device cuda")), qPrintable(onCpu.err));
        const Run other = run({QStringLiteral("run"), db, QStringLiteral("--precision"), QStringLiteral("fp32")});
        QCOMPARE(other.code, 2);
        QVERIFY2(other.err.contains(QStringLiteral("never mixed")), qPrintable(other.err));
    }

    void endToEnd()
    {
        const QString images = m_dir.filePath(QStringLiteral("photos"));
        touch(images + QStringLiteral("/a/1.jpg"), 10);
        touch(images + QStringLiteral("/a/b/2.JPG"), 20);
        touch(images + QStringLiteral("/c/3.png"), 30);
        touch(images + QStringLiteral("/c/x,\"y\".jpeg"), 40);
        touch(images + QStringLiteral("/c/tmp_5.jpg"), 50);
        touch(images + QStringLiteral("/d/notes.txt"), 60);
        const QString db = m_dir.filePath(QStringLiteral("study.db"));

        Run r = run({QStringLiteral("create"), db, QStringLiteral("--model"), m_model, QStringLiteral("--scales"),
                     QStringLiteral("0.5,1"), QStringLiteral("--no-flip"), QStringLiteral("--batch"), QStringLiteral("4")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        struct stat st {};
        QCOMPARE(::stat(QFile::encodeName(db).constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        QCOMPARE(run({QStringLiteral("create"), db, QStringLiteral("--model"), m_model}).code, 2);  // exists

        r = run({QStringLiteral("add"), db, QStringLiteral("sftp://host/data/../x")});
        QCOMPARE(r.code, 2);  // a path escaping its root is refused before any connection
        QVERIFY2(r.err.contains(QStringLiteral("\"..\"")), qPrintable(r.err));
        r = run({QStringLiteral("add"), db, images, QStringLiteral("--exclude"), QStringLiteral("tmp_*")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(QStringLiteral("added 4 images")), qPrintable(r.out));
        r = run({QStringLiteral("add"), db, images});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(QStringLiteral("added 1 images")) && r.out.contains(QStringLiteral("4 already")), qPrintable(r.out));

        r = run({QStringLiteral("status"), db});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(QStringLiteral("pending   5")), qPrintable(r.out));
        QVERIFY2(r.out.contains(QStringLiteral("espnet-cityscapes")), qPrintable(r.out));

        // Play the runner: three done, one corrupt, one left pending.
        QStringList expectedImages;
        {
            auto store = JobStore::open(db);
            QVERIFY(store.ok());
            auto settings = (*store)->settings();
            QVERIFY(settings.ok() && *settings);
            QCOMPARE((*settings)->scales, (QList<double>{0.5, 1.0}));
            QCOMPARE((*settings)->flip, false);
            QCOMPARE((*settings)->batch, 4);
            QCOMPARE((*settings)->classNames().size(), 20);
            auto l = (*store)->lease(QStringLiteral("test"), 4, 60);
            QCOMPARE(l->size(), 4);
            QList<Completion> done;
            for (int i = 0; i < 3; ++i) {
                ImageResult res;
                res.width = 2 + i;
                res.height = 1;
                res.composition.assign(20, 0.05f);
                res.modelFingerprint = (*settings)->modelFingerprint;
                done.append({l->at(i).imageId, l->at(i).leaseId, res});
                expectedImages.append(l->at(i).location());
            }
            QCOMPARE((*store)->completeMany(done)->count(WriteOutcome::Done), 3);
            QCOMPARE(*(*store)->fail(l->at(3).imageId, l->at(3).leaseId, {ErrorCategory::Corrupt, QStringLiteral("truncated, sorry")}),
                     WriteOutcome::Failed);
            expectedImages.append(l->at(3).location());
        }
        r = run({QStringLiteral("status"), db});
        QVERIFY2(r.out.contains(QStringLiteral("done      3")) && r.out.contains(QStringLiteral("failed    1")) &&
                     r.out.contains(QStringLiteral("corrupt 1")),
                 qPrintable(r.out));
        r = run({QStringLiteral("errors"), db, QStringLiteral("--category"), QStringLiteral("corrupt")});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, expectedImages[3] + QStringLiteral("\tcorrupt\ttruncated, sorry\n"));
        QCOMPARE(run({QStringLiteral("errors"), db, QStringLiteral("--category"), QStringLiteral("nonsense")}).code, 2);

        const QString csv = m_dir.filePath(QStringLiteral("composition.csv"));
        const QString errorsCsv = m_dir.filePath(QStringLiteral("errors.csv"));
        r = run({QStringLiteral("export"), db, QStringLiteral("--format"), QStringLiteral("wide"), QStringLiteral("--out"), csv,
                 QStringLiteral("--errors"), errorsCsv});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto rows = parseCsv(f.readAll());
        QCOMPARE(rows.size(), 4);
        QCOMPARE(rows[0].size(), 23);
        QCOMPARE(rows[0].mid(0, 4), (QStringList{QStringLiteral("image"), QStringLiteral("width"), QStringLiteral("height"), QStringLiteral("road")}));
        for (int i = 1; i < 4; ++i) {
            QCOMPARE(rows[i][0], expectedImages[i - 1]);
            QCOMPARE(rows[i][1], QString::number(2 + i - 1));
            QCOMPARE(rows[i][3], QStringLiteral("0.050000"));
        }
        QFile ef(errorsCsv);
        QVERIFY(ef.open(QIODevice::ReadOnly));
        const auto erows = parseCsv(ef.readAll());
        QCOMPARE(erows.size(), 2);
        QCOMPARE(erows[1], (QStringList{expectedImages[3], QStringLiteral("corrupt"), QStringLiteral("truncated, sorry")}));
        r = run({QStringLiteral("export"), db, QStringLiteral("--format"), QStringLiteral("long"), QStringLiteral("--out"), csv});
        QCOMPARE(r.code, 0);
        f.close();
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(parseCsv(f.readAll()).size(), 1 + 3 * 20);
        QCOMPARE(run({QStringLiteral("export"), db, QStringLiteral("--format"), QStringLiteral("tall"), QStringLiteral("--out"), csv}).code, 2);

        r = run({QStringLiteral("retry"), db, QStringLiteral("--category"), QStringLiteral("corrupt")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("1 failed image back")), qPrintable(r.out));
        r = run({QStringLiteral("reset"), db, QStringLiteral("--state"), QStringLiteral("done")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("3 images back")), qPrintable(r.out));
        r = run({QStringLiteral("status"), db});
        QVERIFY2(r.out.contains(QStringLiteral("pending   5")), qPrintable(r.out));
    }
};

QTEST_GUILESS_MAIN(TestStudyCli)
#include "tst_jobstore_cli.moc"
