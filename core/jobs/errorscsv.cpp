#include "jobs/errorscsv.h"

namespace SegScale::Jobs {

ErrorsCsv::ErrorsCsv(QIODevice *out) : m_csv(out)
{
    m_csv.field(u"image");
    m_csv.field(u"category");
    m_csv.field(u"message");
    m_csv.endRow();
}

void ErrorsCsv::add(QStringView location, QStringView category, QStringView message)
{
    m_csv.field(location);
    m_csv.field(category);
    m_csv.field(message);
    m_csv.endRow();
}

} // namespace SegScale::Jobs
