#include "model/classtable.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace SegScale::Model {

namespace {

const QString kResourceDir = QStringLiteral(":/segscale/classes");

} // namespace

QStringList ClassTable::builtinNames()
{
    QStringList names;
    const QStringList files = QDir(kResourceDir).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    for (const QString &f : files)
        names << QFileInfo(f).completeBaseName();
    return names;
}

Result<ClassTable> ClassTable::builtin(const QString &name)
{
    const QString path = kResourceDir + QLatin1Char('/') + name + QStringLiteral(".json");
    QFile file(path);
    if (name.isEmpty() || name.contains(QLatin1Char('/')) || !file.open(QIODevice::ReadOnly))
        return Error{ErrorCategory::Usage, QStringLiteral("no built-in class table \"%1\" (known: %2)")
                                               .arg(name, builtinNames().join(QStringLiteral(", ")))};
    // The tables are compiled in: a problem here is a packaging bug, not a user's mistake.
    const auto bad = [&](const QString &why) {
        return Error{ErrorCategory::Internal, QStringLiteral("built-in class table %1 is broken: %2").arg(path, why)};
    };
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (!doc.isObject())
        return bad(parseError.errorString());
    const QJsonObject json = doc.object();

    ClassTable table;
    table.name = json.value(QStringLiteral("name")).toString(name);
    for (const auto &v : json.value(QStringLiteral("classes")).toArray()) {
        if (!v.isString() || v.toString().isEmpty())
            return bad(QStringLiteral("class names must be non-empty strings"));
        table.classes << v.toString();
    }
    for (const auto &v : json.value(QStringLiteral("palette")).toArray()) {
        const QJsonArray rgb = v.toArray();
        if (rgb.size() != 3)
            return bad(QStringLiteral("palette entries must be [r, g, b]"));
        std::uint8_t c[3];
        for (int i = 0; i < 3; ++i) {
            const int x = rgb[i].toInt(-1);
            if (x < 0 || x > 255)
                return bad(QStringLiteral("palette values must be 0..255"));
            c[i] = static_cast<std::uint8_t>(x);
        }
        table.palette.push_back(Rgb{c[0], c[1], c[2]});
    }
    if (table.classes.isEmpty() || static_cast<qsizetype>(table.palette.size()) != table.classes.size())
        return bad(QStringLiteral("%1 classes but %2 colours").arg(table.classes.size()).arg(table.palette.size()));
    return table;
}

} // namespace SegScale::Model
