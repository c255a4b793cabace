// The built-in class tables: ADE20K-150 in the official order, Cityscapes' 19 train
// classes, palettes as long as the class lists, and a clear error for unknown names.

#include "model/classtable.h"

#include <QTest>

using namespace SegScale;
using namespace SegScale::Model;

class TestClassTable : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void builtinNames()
    {
        const QStringList names = ClassTable::builtinNames();
        QVERIFY2(names.contains(QStringLiteral("ade20k")), qPrintable(names.join(QLatin1Char(','))));
        QVERIFY2(names.contains(QStringLiteral("cityscapes")), qPrintable(names.join(QLatin1Char(','))));
    }

    void ade20k()
    {
        auto t = ClassTable::builtin(QStringLiteral("ade20k"));
        QVERIFY2(t.ok(), qPrintable(t ? QString() : t.error().toString()));
        QCOMPARE(t->name, QStringLiteral("ade20k"));
        QCOMPARE(t->classes.size(), 150);
        QCOMPARE(t->palette.size(), size_t(150));
        QCOMPARE(t->classes.removeDuplicates(), 0);
        // Spot checks against the official list and the CSAIL colour table.
        QCOMPARE(t->classes.first(), QStringLiteral("wall"));
        QCOMPARE(t->classes.at(2), QStringLiteral("sky"));
        QCOMPARE(t->classes.at(12), QStringLiteral("person"));
        QCOMPARE(t->classes.at(20), QStringLiteral("car"));
        QCOMPARE(t->classes.at(44), QStringLiteral("chest of drawers"));
        QCOMPARE(t->classes.at(105), QStringLiteral("conveyer belt"));
        QCOMPARE(t->classes.at(136), QStringLiteral("traffic light"));
        QCOMPARE(t->classes.last(), QStringLiteral("flag"));
        QCOMPARE(t->palette.front(), (Rgb{120, 120, 120}));
        QCOMPARE(t->palette.at(1), (Rgb{180, 120, 120}));
        QCOMPARE(t->palette.at(2), (Rgb{6, 230, 230}));
        QCOMPARE(t->palette.at(12), (Rgb{150, 5, 61}));
        QCOMPARE(t->palette.back(), (Rgb{92, 0, 255}));
    }

    void cityscapes()
    {
        auto t = ClassTable::builtin(QStringLiteral("cityscapes"));
        QVERIFY2(t.ok(), qPrintable(t ? QString() : t.error().toString()));
        QCOMPARE(t->classes.size(), 19);
        QCOMPARE(t->palette.size(), size_t(19));
        QCOMPARE(t->classes.first(), QStringLiteral("road"));
        QCOMPARE(t->classes.at(6), QStringLiteral("traffic light"));
        QCOMPARE(t->classes.last(), QStringLiteral("bicycle"));
        QCOMPARE(t->palette.front(), (Rgb{128, 64, 128}));
        QCOMPARE(t->palette.at(13), (Rgb{0, 0, 142}));
        QCOMPARE(t->palette.back(), (Rgb{119, 11, 32}));
    }

    void unknownName()
    {
        for (const QString &name : {QStringLiteral("pascal"), QString(), QStringLiteral("../classes/ade20k")}) {
            auto t = ClassTable::builtin(name);
            QVERIFY(!t.ok());
            QCOMPARE(t.error().category, ErrorCategory::Usage);
            QVERIFY2(t.error().message.contains(QStringLiteral("ade20k")), qPrintable(t.error().message));
        }
    }
};

QTEST_GUILESS_MAIN(TestClassTable)
#include "tst_classtable.moc"
