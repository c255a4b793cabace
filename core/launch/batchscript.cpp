#include "launch/batchscript.h"

#include "launch/shellcommand.h"

#include <QRegularExpression>

namespace SegScale::Launch {

QString BatchScript::defaultTemplate()
{
    return QStringLiteral("#!/bin/sh\n"
                          "{{SBATCH_OPTIONS}}\n"
                          "# Written by SegScale: task $SLURM_ARRAY_TASK_ID of job array $SLURM_ARRAY_JOB_ID.\n"
                          "{{COMMAND}}\n");
}

QString BatchScript::logFile(const LaunchSpec &spec, const QString &logDirectory, const QString &jobId, int task)
{
    return logDirectory + QLatin1Char('/') + spec.namePrefix + QLatin1Char('-') + jobId + QLatin1Char('_') + QString::number(task) +
           QStringLiteral(".log");
}

Result<QByteArray> BatchScript::render(const LaunchSpec &spec, const QString &logDirectory)
{
    const QString text = spec.slurm.batchTemplate.isEmpty() ? defaultTemplate() : spec.slurm.batchTemplate;
    if (!text.startsWith(QLatin1StringView("#!")))
        return Error{ErrorCategory::Usage, QStringLiteral("the Slurm batch template must start with an interpreter line (#!/bin/sh)")};
    if (!text.contains(QLatin1StringView("{{COMMAND}}")))
        return Error{ErrorCategory::Usage, QStringLiteral("the Slurm batch template has no {{COMMAND}} placeholder")};
    if (spec.namePrefix.isEmpty() || spec.namePrefix.contains(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]"))))
        return Error{ErrorCategory::Usage,
                     QStringLiteral("agent name prefix \"%1\" must be letters, digits, '.', '_' or '-'").arg(spec.namePrefix)};

    const QString logPattern = logDirectory + QLatin1Char('/') + spec.namePrefix + QStringLiteral("-%A_%a.log");
    QStringList options;
    auto option = [&](const QString &line) {
        if (line.contains(QLatin1Char('\n')))
            return false;
        options << (line.startsWith(QLatin1StringView("#SBATCH")) ? line : QStringLiteral("#SBATCH ") + line);
        return true;
    };
    option(QStringLiteral("--job-name=") + spec.namePrefix);
    if (!option(QStringLiteral("--output=") + logPattern))
        return Error{ErrorCategory::Usage, QStringLiteral("the Slurm log folder must not contain a line break")};
    if (!spec.slurm.partition.isEmpty() && !option(QStringLiteral("--partition=") + spec.slurm.partition))
        return Error{ErrorCategory::Usage, QStringLiteral("the Slurm partition must not contain a line break")};
    if (!spec.slurm.timeLimit.isEmpty() && !option(QStringLiteral("--time=") + spec.slurm.timeLimit))
        return Error{ErrorCategory::Usage, QStringLiteral("the Slurm time limit must not contain a line break")};
    if (spec.slurm.cpusPerTask > 0)
        option(QStringLiteral("--cpus-per-task=%1").arg(spec.slurm.cpusPerTask));
    for (const QString &extra : spec.slurm.extraSbatchLines)
        if (!option(extra.trimmed()))
            return Error{ErrorCategory::Usage, QStringLiteral("an extra sbatch line must not contain a line break")};

    const QHash<QString, QString> values{
        {QStringLiteral("SBATCH_OPTIONS"), options.join(QLatin1Char('\n'))},
        {QStringLiteral("COMMAND"), ShellCommand::command(spec, 0, QStringLiteral("$SLURM_ARRAY_TASK_ID"))},
        {QStringLiteral("JOB_NAME"), spec.namePrefix},
        {QStringLiteral("LOG_FILE"), logPattern},
    };
    static const QRegularExpression placeholder(QStringLiteral("\\{\\{([^{}]*)\\}\\}"));
    QString result;
    qsizetype last = 0;
    for (auto it = placeholder.globalMatch(text); it.hasNext();) {
        const auto match = it.next();
        const auto value = values.constFind(match.captured(1).trimmed());
        if (value == values.constEnd())
            return Error{ErrorCategory::Usage, QStringLiteral("unknown placeholder %1 in the Slurm batch template (known: "
                                                              "{{SBATCH_OPTIONS}}, {{COMMAND}}, {{JOB_NAME}}, {{LOG_FILE}})")
                                                   .arg(match.captured(0))};
        result += QStringView(text).mid(last, match.capturedStart() - last);
        result += *value;
        last = match.capturedEnd();
    }
    result += QStringView(text).mid(last);
    return result.toUtf8();
}

} // namespace SegScale::Launch
