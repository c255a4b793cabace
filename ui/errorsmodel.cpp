#include "ui/errorsmodel.h"

#include "base/error.h"

#include <QDateTime>
#include <QLocale>

namespace SegScale::Ui {
namespace {

// Messages name their file first ("/data/a.jpg: damaged JPEG: …"); the Image column
// already shows it, and elided in a narrow column it would hide what went wrong.
QString withoutLocation(const QString &message, const QString &location)
{
    const QString name = location.mid(location.lastIndexOf(QLatin1Char('/')) + 1);
    for (const QString &prefix : {location, name}) {
        if (!prefix.isEmpty() && message.startsWith(prefix + QStringLiteral(": ")))
            return message.mid(prefix.size() + 2);
    }
    return message;
}

} // namespace

ErrorsModel::ErrorsModel(StudyConnection *connection, QObject *parent) : KeysetTableModel(connection, QStringLiteral("errors"), parent) {}

QStringList ErrorsModel::categories()
{
    QStringList names;
    for (auto c : {ErrorCategory::Missing, ErrorCategory::Unreadable, ErrorCategory::Corrupt, ErrorCategory::TooLarge,
                   ErrorCategory::Unsupported, ErrorCategory::Storage, ErrorCategory::Model, ErrorCategory::Internal})
        names << categoryName(c);
    return names;
}

void ErrorsModel::setCategory(const QString &category)
{
    QJsonObject f = pager()->filter();
    if (category.isEmpty())
        f.remove(QStringLiteral("category"));
    else
        f.insert(QStringLiteral("category"), category);
    setFilter(f);
}

void ErrorsModel::setFilter(const QJsonObject &filter)
{
    m_category = filter.value(QStringLiteral("category")).toString();
    pager()->setFilter(filter);
    reload();
}

int ErrorsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ErrorsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonObject &r = row(index.row());
    if (role == Qt::UserRole)
        return static_cast<qint64>(r.value(QStringLiteral("image")).toDouble());
    if (role == RowRole)
        return r;
    if (role == Qt::ToolTipRole && (index.column() == Image || index.column() == Message))
        return r.value(index.column() == Image ? QStringLiteral("location") : QStringLiteral("message")).toString();
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Image:
        return r.value(QStringLiteral("location")).toString();
    case Category:
        return r.value(QStringLiteral("category")).toString();
    case Message:
        return withoutLocation(r.value(QStringLiteral("message")).toString(), r.value(QStringLiteral("location")).toString());
    case Worker:
        return r.value(QStringLiteral("worker")).toString();
    case When: {
        const auto ms = static_cast<qint64>(r.value(QStringLiteral("at")).toDouble());
        return ms > 0 ? QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat) : QString();
    }
    default:
        return {};
    }
}

QVariant ErrorsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Image:
        return tr("Image");
    case Category:
        return tr("Category");
    case Message:
        return tr("Message");
    case Worker:
        return tr("Worker");
    case When:
        return tr("When");
    default:
        return {};
    }
}

} // namespace SegScale::Ui
