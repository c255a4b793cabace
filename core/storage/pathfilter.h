#pragma once
// Include/exclude glob patterns for Storage::list (see the rules there), compiled once.

#include <QList>
#include <QRegularExpression>
#include <QStringList>

namespace SegScale::Storage {

class PathFilter {
public:
    PathFilter(const QStringList &include, const QStringList &exclude);

    // `relativePath` is relative to the storage root, `name` its last segment.
    bool acceptsFile(const QString &relativePath, const QString &name) const;
    // False when the directory is excluded, so listing need not descend into it.
    bool entersDirectory(const QString &relativePath, const QString &name) const;

private:
    struct Pattern {
        QRegularExpression regex;
        bool wholePath = false;
    };
    static QList<Pattern> compile(const QStringList &patterns);
    static bool matchesAny(const QList<Pattern> &patterns, const QString &relativePath, const QString &name);

    QList<Pattern> m_include;
    QList<Pattern> m_exclude;
};

} // namespace SegScale::Storage
