#include "storage/storage.h"

#include "storage/localstorage.h"
#include "storage/sftpstorage.h"

namespace SegScale::Storage {

Result<std::shared_ptr<Storage>> openStorage(const StorageUrl &url, const Credentials &credentials, const StorageOptions &options)
{
    if (url.isLocal()) {
        auto local = LocalStorage::open(url.path);
        if (!local)
            return local.error();
        return std::shared_ptr<Storage>(std::move(*local));
    }
    auto sftp = SftpStorage::open(url, credentials, options);
    if (!sftp)
        return sftp.error();
    return std::shared_ptr<Storage>(std::move(*sftp));
}

} // namespace SegScale::Storage
