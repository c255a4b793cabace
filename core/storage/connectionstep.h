#pragma once
// The steps of reaching an SFTP storage, in order, so a failure can say exactly which
// one went wrong (the question every "cannot connect" support request starts with).

#include <QString>

namespace SegScale::Storage {

enum class ConnectionStep { NameLookup, TcpConnect, KeyExchange, HostKey, Authentication, Sftp, Permission, Path };

inline QString connectionStepName(ConnectionStep step)
{
    switch (step) {
    case ConnectionStep::NameLookup: return QStringLiteral("name lookup");
    case ConnectionStep::TcpConnect: return QStringLiteral("TCP connect");
    case ConnectionStep::KeyExchange: return QStringLiteral("SSH key exchange");
    case ConnectionStep::HostKey: return QStringLiteral("host key");
    case ConnectionStep::Authentication: return QStringLiteral("authentication");
    case ConnectionStep::Sftp: return QStringLiteral("SFTP subsystem");
    case ConnectionStep::Permission: return QStringLiteral("permission");
    case ConnectionStep::Path: return QStringLiteral("path");
    }
    return QStringLiteral("unknown step");
}

} // namespace SegScale::Storage
