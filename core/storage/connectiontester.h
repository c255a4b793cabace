#pragma once
// Checks a storage location step by step — name lookup, TCP connect, key exchange, host
// key, authentication, SFTP, path, permission — and reports which step failed, for
// `segscale storage test` and the GUI's "Test connection" button.

#include "storage/connectionreport.h"
#include "storage/credentials.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

namespace SegScale::Storage {

class ConnectionTester {
public:
    static ConnectionReport run(const StorageUrl &url, const Credentials &credentials, const StorageOptions &options = {});
};

} // namespace SegScale::Storage
