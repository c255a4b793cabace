#include "base/csv.h"

#include <QtTest>

using SegScale::Csv;

class CsvTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void quotingRoundTrips()
    {
        const QStringList fields{QStringLiteral("plain"), QStringLiteral("a,b.jpg"), QStringLiteral("say \"hi\""),
                                 QStringLiteral("line\nbreak"), QStringLiteral("Straße/日本.png"), QString()};
        const QByteArray row = Csv::row(fields);
        QCOMPARE(row, QStringLiteral("plain,\"a,b.jpg\",\"say \"\"hi\"\"\",\"line\nbreak\",Straße/日本.png,\r\n").toUtf8());
        const auto parsed = Csv::parse(row + Csv::row({QStringLiteral("x"), QStringLiteral("y")}));
        QCOMPARE(parsed.size(), size_t(2));
        QCOMPARE(parsed[0], fields);
        QCOMPARE(parsed[1], (QStringList{QStringLiteral("x"), QStringLiteral("y")}));
    }
    void fractionsHaveSixDecimals()
    {
        QCOMPARE(Csv::fraction(0.5), QStringLiteral("0.500000"));
        QCOMPARE(Csv::fraction(1.0 / 3.0), QStringLiteral("0.333333"));
    }
};

QTEST_GUILESS_MAIN(CsvTest)
#include "tst_csv.moc"
