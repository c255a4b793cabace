// Model cards: the shared real card parses; every malformed card is a Model error that
// names the problem.
#include "model/modelcard.h"

#include <QtTest>

using namespace SegScale;
using namespace SegScale::Model;

namespace {
Result<ModelCard> cardFrom(const QTemporaryDir &dir, const QByteArray &json)
{
    QFile f(dir.filePath(QStringLiteral("model.json")));
    f.open(QIODevice::WriteOnly | QIODevice::Truncate);
    f.write(json);
    f.close();
    return ModelCard::load(dir.path());
}
} // namespace

class ModelCardTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sharedEspnetCard()
    {
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        const QString dir = shared + QStringLiteral("/models/espnet-cityscapes");
        if (shared.isEmpty() || !QFile::exists(dir + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        auto card = ModelCard::load(dir);
        QVERIFY2(card.ok(), qPrintable(card.ok() ? QString() : card.error().message));
        QCOMPARE(card->numClasses, 20);
        QCOMPARE(card->classes.first(), QStringLiteral("road"));
        QCOMPARE(card->classes.at(10), QStringLiteral("sky"));
        QCOMPARE(card->input.colorOrder, ColorOrder::BGR);
        QCOMPARE(card->defaults.crop, 1024);  // one window at base 1024: no void seams
        QCOMPARE(card->defaults.baseSize, 1024);
        QCOMPARE(card->palette.size(), size_t(20));
        QCOMPARE(card->palette[0], (Rgb{128, 64, 128}));
        QVERIFY(card->weightsPath().endsWith(QStringLiteral("model.pt")));
        auto fp = card->fingerprint();
        QVERIFY(fp.ok());
        QCOMPARE(fp->size(), 64);
        QCOMPARE(*card->fingerprint(), *fp);  // stable
    }

    void malformedCards_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not json") << QByteArray("{ name: ") << QStringLiteral("does not parse");
        QTest::newRow("no name") << QByteArray(R"({"architecture":"torchscript","file":"m.pt","num_classes":2})") << QStringLiteral("\"name\"");
        QTest::newRow("bad arch") << QByteArray(R"({"name":"x","architecture":"resnet","file":"m.pt","num_classes":2})") << QStringLiteral("architecture");
        QTest::newRow("class count") << QByteArray(R"({"name":"x","architecture":"torchscript","file":"m.pt","num_classes":3,"classes":["a","b"]})") << QStringLiteral("lists 2 names");
        QTest::newRow("palette") << QByteArray(R"({"name":"x","architecture":"torchscript","file":"m.pt","num_classes":2,"palette":[[1,2,3]]})") << QStringLiteral("palette");
        QTest::newRow("std zero") << QByteArray(R"({"name":"x","architecture":"torchscript","file":"m.pt","num_classes":2,"input":{"std":[1,0,1]}})") << QStringLiteral("input.std");
        QTest::newRow("no weights") << QByteArray(R"({"name":"x","architecture":"pspnet","num_classes":2})") << QStringLiteral("\"file\"");
        QTest::newRow("layers") << QByteArray(R"({"name":"x","architecture":"pspnet","random_init":true,"num_classes":2,"pspnet":{"layers":34}})") << QStringLiteral("layers");
    }
    void malformedCards()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        auto card = cardFrom(dir, json);
        QVERIFY(!card.ok());
        QCOMPARE(card.error().category, ErrorCategory::Model);
        QVERIFY2(card.error().message.contains(mentions), qPrintable(card.error().message));
        QVERIFY(card.error().message.contains(QStringLiteral("model.json")));
    }

    void missingFolder()
    {
        auto card = ModelCard::load(QStringLiteral("/nonexistent/model"));
        QVERIFY(!card.ok());
        QVERIFY(card.error().message.contains(QStringLiteral("/nonexistent/model")));
    }
};

QTEST_GUILESS_MAIN(ModelCardTest)
#include "tst_modelcard.moc"
