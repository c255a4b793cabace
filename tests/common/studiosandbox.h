#pragma once
// The Studio tests' sandbox: QSettings (window state, last study), the agents' token
// file and launched agents' model cache go under a test's temporary folder, never the
// user's, under an organisation and application name of the test's own.

#include <QCoreApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QString>

namespace SegScale::Testing {

inline void sandboxStudio(const QString &dir, const QString &application)
{
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir + QStringLiteral("/settings"));
    qputenv("XDG_CACHE_HOME", (dir + QStringLiteral("/cache")).toUtf8());
    QCoreApplication::setOrganizationName(QStringLiteral("SegScaleTest"));
    QCoreApplication::setApplicationName(application);
}

} // namespace SegScale::Testing
