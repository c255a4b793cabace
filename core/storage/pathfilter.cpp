#include "storage/pathfilter.h"

namespace SegScale::Storage {

PathFilter::PathFilter(const QStringList &include, const QStringList &exclude)
    : m_include(compile(include)), m_exclude(compile(exclude))
{
}

QList<PathFilter::Pattern> PathFilter::compile(const QStringList &patterns)
{
    QList<Pattern> compiled;
    for (const QString &p : patterns) {
        if (p.isEmpty())
            continue;
        // Case-insensitive because photo collections mix "IMG_1.JPG" and "img_2.jpg" and
        // nobody means to skip half of them.
        compiled.append({QRegularExpression(QRegularExpression::wildcardToRegularExpression(p),
                                            QRegularExpression::CaseInsensitiveOption),
                         p.contains(QLatin1Char('/'))});
    }
    return compiled;
}

bool PathFilter::matchesAny(const QList<Pattern> &patterns, const QString &relativePath, const QString &name)
{
    for (const Pattern &p : patterns)
        if (p.regex.match(p.wholePath ? relativePath : name).hasMatch())
            return true;
    return false;
}

bool PathFilter::acceptsFile(const QString &relativePath, const QString &name) const
{
    if (matchesAny(m_exclude, relativePath, name))
        return false;
    return m_include.isEmpty() || matchesAny(m_include, relativePath, name);
}

bool PathFilter::entersDirectory(const QString &relativePath, const QString &name) const
{
    return !matchesAny(m_exclude, relativePath, name);
}

} // namespace SegScale::Storage
