#include "launch/shellcommand.h"

namespace SegScale::Launch {

namespace {
const QString kIndex = QStringLiteral("{index}");
const QString kName = QStringLiteral("{name}");
} // namespace

QString ShellCommand::quote(const QString &text)
{
    QString quoted = text;
    quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

QString ShellCommand::join(const QStringList &words)
{
    QStringList quoted;
    quoted.reserve(words.size());
    for (const QString &w : words)
        quoted.append(quote(w));
    return quoted.join(QLatin1Char(' '));
}

QString ShellCommand::substitute(const QString &text, int index, const QString &name)
{
    QString result = text;
    result.replace(kIndex, QString::number(index));
    result.replace(kName, name);
    return result;
}

QString ShellCommand::word(const QString &text, const LaunchSpec &spec, int index, const QString &indexExpression)
{
    if (indexExpression.isEmpty())
        return quote(substitute(text, index, spec.namePrefix + QLatin1Char('-') + QString::number(index)));
    // Split at the placeholders; quoted literal parts, "$EXPR" in between.
    const QString nameExpression = quote(spec.namePrefix + QLatin1Char('-')) + QLatin1Char('"') + indexExpression + QLatin1Char('"');
    const QString indexPart = QLatin1Char('"') + indexExpression + QLatin1Char('"');
    QString result;
    QString literal;
    for (qsizetype i = 0; i < text.size();) {
        const bool isIndex = QStringView(text).mid(i).startsWith(kIndex);
        const bool isName = !isIndex && QStringView(text).mid(i).startsWith(kName);
        if (!isIndex && !isName) {
            literal.append(text.at(i));
            ++i;
            continue;
        }
        if (!literal.isEmpty())
            result += quote(literal);
        literal.clear();
        result += isIndex ? indexPart : nameExpression;
        i += isIndex ? kIndex.size() : kName.size();
    }
    if (!literal.isEmpty() || result.isEmpty())
        result += quote(literal);
    return result;
}

QString ShellCommand::command(const LaunchSpec &spec, int index, const QString &indexExpression)
{
    QStringList parts;
    if (!spec.workingDirectory.isEmpty())
        parts << QStringLiteral("cd") << quote(spec.workingDirectory) << QStringLiteral("&&");
    parts << QStringLiteral("exec");
    if (!spec.environment.isEmpty()) {
        parts << QStringLiteral("env");
        for (auto it = spec.environment.cbegin(); it != spec.environment.cend(); ++it)
            parts << word(it.key() + QLatin1Char('=') + it.value(), spec, index, indexExpression);
    }
    parts << word(spec.program, spec, index, indexExpression);
    for (const QString &argument : spec.arguments)
        parts << word(argument, spec, index, indexExpression);
    return parts.join(QLatin1Char(' '));
}

} // namespace SegScale::Launch
