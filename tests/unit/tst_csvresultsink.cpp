// CsvResultSink: rows are on disk as soon as an image ends (a killed run keeps them), and
// finish() puts them in input order however the images completed.

#include "pipeline/csvresultsink.h"

#include <QtTest>

using namespace SegScale;
using namespace SegScale::Pipeline;

namespace {

ImageResult done(qint64 id, double sky)
{
    ImageResult r;
    r.task.id = id;
    r.task.name = QStringLiteral("img%1.jpg").arg(id);
    r.width = 4;
    r.height = 3;
    r.composition = {1.0 - sky, sky};
    return r;
}

ImageTask task(qint64 id)
{
    ImageTask t;
    t.id = id;
    t.name = QStringLiteral("img%1.jpg").arg(id);
    return t;
}

QStringList lines(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList out = QString::fromUtf8(f.readAll()).split(QStringLiteral("\r\n"));
    if (!out.isEmpty() && out.last().isEmpty())
        out.removeLast();
    return out;
}

} // namespace

class CsvResultSinkTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rowsEndInInputOrder()
    {
        QTemporaryDir dir;
        CsvResultSink sink(dir.path(), {QStringLiteral("road"), QStringLiteral("sky")});
        QVERIFY(sink.open().ok());
        // Completion order, as several images in flight may finish.
        sink.imageDone(done(2, 0.5));
        sink.imageFailed(task(4), Error{ErrorCategory::Corrupt, QStringLiteral("img4.jpg: truncated")});
        sink.imageDone(done(0, 0.25));
        sink.imageFailed(task(1), Error{ErrorCategory::Missing, QStringLiteral("img1.jpg: no such file")});
        sink.imageDone(done(3, 0.125));
        const QString composition = dir.filePath(QStringLiteral("composition.csv"));
        const QString errors = dir.filePath(QStringLiteral("errors.csv"));
        // Before finish: every row already on disk (what a killed run leaves), as completed.
        QCOMPARE(lines(composition).size(), 4);
        QVERIFY(lines(composition).at(1).startsWith(QStringLiteral("img2.jpg,")));
        QVERIFY(sink.finish().ok());
        QCOMPARE(lines(composition), (QStringList{QStringLiteral("image,width,height,road,sky"),
                                                  QStringLiteral("img0.jpg,4,3,0.750000,0.250000"),
                                                  QStringLiteral("img2.jpg,4,3,0.500000,0.500000"),
                                                  QStringLiteral("img3.jpg,4,3,0.875000,0.125000")}));
        QCOMPARE(lines(errors), (QStringList{QStringLiteral("image,category,message"),
                                             QStringLiteral("img1.jpg,missing,img1.jpg: no such file"),
                                             QStringLiteral("img4.jpg,corrupt,img4.jpg: truncated")}));
        QCOMPARE(sink.done(), 3);
        QCOMPARE(sink.failed(), 2);
    }

    void inOrderRowsAreLeftAlone()
    {
        QTemporaryDir dir;
        CsvResultSink sink(dir.path(), {QStringLiteral("road"), QStringLiteral("sky")});
        QVERIFY(sink.open().ok());
        sink.imageDone(done(0, 0.5));
        sink.imageDone(done(1, 0.5));
        const QString composition = dir.filePath(QStringLiteral("composition.csv"));
        const QDateTime before = QFileInfo(composition).lastModified();
        const auto inode = QFileInfo(composition).fileTime(QFileDevice::FileBirthTime);
        QVERIFY(sink.finish().ok());
        QCOMPARE(lines(composition).size(), 3);
        QCOMPARE(QFileInfo(composition).lastModified(), before);
        QCOMPARE(QFileInfo(composition).fileTime(QFileDevice::FileBirthTime), inode);
    }
};

QTEST_GUILESS_MAIN(CsvResultSinkTest)
#include "tst_csvresultsink.moc"
