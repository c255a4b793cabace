#include "model/weightsfile.h"

#include "model/modelcard.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

namespace SegScale::Model {

QByteArray WeightsFile::sha256(const QByteArray &bytes)
{
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
}

Result<QByteArray> WeightsFile::sha256OfFile(const QString &path)
{
    QFile f(path);
    if (!f.exists())
        return Error{ErrorCategory::Missing, QStringLiteral("%1 does not exist").arg(path)};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!f.open(QIODevice::ReadOnly) || !hash.addData(&f))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read %1: %2").arg(path, f.errorString())};
    return hash.result().toHex();
}

Result<QByteArray> WeightsFile::readVerified(const ModelCard &card)
{
    const QString path = card.weightsPath();
    auto fail = [](const QString &what) { return Error{ErrorCategory::Model, what}; };
    const QFileInfo info(path);
    if (path.isEmpty() || !info.exists())
        return fail(QStringLiteral("weights file %1 named by the card does not exist").arg(path));
    QFile file(path);
    if (!info.isFile() || !file.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("cannot read weights %1: %2").arg(path, file.errorString()));
    QByteArray bytes;
    try {
        bytes = file.readAll();
    } catch (const std::bad_alloc &) {
        return fail(QStringLiteral("weights %1 (%2 bytes) do not fit in memory").arg(path).arg(info.size()));
    }
    if (file.error() != QFileDevice::NoError || bytes.size() != file.size())
        return fail(QStringLiteral("cannot read weights %1: %2").arg(path, file.errorString()));
    if (card.weightsSha256.isEmpty())
        return bytes;
    const QByteArray actual = sha256(bytes);
    if (actual != card.weightsSha256)
        return fail(QStringLiteral("weights %1 have SHA-256 %2 but the card records %3: the file changed after it was imported "
                                   "(damaged or replaced); refused. Import the model again if the change is intended.")
                        .arg(path, QString::fromLatin1(actual), QString::fromLatin1(card.weightsSha256)));
    return bytes;
}

} // namespace SegScale::Model
