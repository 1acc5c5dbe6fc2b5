#pragma once
// MySQL / MariaDB client-server protocol constants, written once.
// Sources: the MySQL client/server protocol documentation and MariaDB's include/mysql_com.h.

#include <cstddef>
#include <cstdint>

namespace hostgate::protocol::mysql {

// Capability flags (the 32 bits exchanged in HandshakeV10 and HandshakeResponse41).
namespace cap {
inline constexpr std::uint32_t kLongPassword = 1u << 0;  // MariaDB: CLIENT_MYSQL
inline constexpr std::uint32_t kMysql = kLongPassword;  // clear: both ends speak MariaDB extensions
inline constexpr std::uint32_t kFoundRows = 1u << 1;
inline constexpr std::uint32_t kLongFlag = 1u << 2;
inline constexpr std::uint32_t kConnectWithDb = 1u << 3;
inline constexpr std::uint32_t kNoSchema = 1u << 4;
inline constexpr std::uint32_t kCompress = 1u << 5;
inline constexpr std::uint32_t kOdbc = 1u << 6;
inline constexpr std::uint32_t kLocalFiles = 1u << 7;
inline constexpr std::uint32_t kIgnoreSpace = 1u << 8;
inline constexpr std::uint32_t kProtocol41 = 1u << 9;
inline constexpr std::uint32_t kInteractive = 1u << 10;
inline constexpr std::uint32_t kSsl = 1u << 11;
inline constexpr std::uint32_t kIgnoreSigpipe = 1u << 12;
inline constexpr std::uint32_t kTransactions = 1u << 13;
inline constexpr std::uint32_t kReserved = 1u << 14;
inline constexpr std::uint32_t kSecureConnection = 1u << 15;
inline constexpr std::uint32_t kMultiStatements = 1u << 16;
inline constexpr std::uint32_t kMultiResults = 1u << 17;
inline constexpr std::uint32_t kPsMultiResults = 1u << 18;
inline constexpr std::uint32_t kPluginAuth = 1u << 19;
inline constexpr std::uint32_t kConnectAttrs = 1u << 20;
inline constexpr std::uint32_t kPluginAuthLenencClientData = 1u << 21;
inline constexpr std::uint32_t kCanHandleExpiredPasswords = 1u << 22;
inline constexpr std::uint32_t kSessionTrack = 1u << 23;
inline constexpr std::uint32_t kDeprecateEof = 1u << 24;
inline constexpr std::uint32_t kOptionalResultsetMetadata = 1u << 25;
inline constexpr std::uint32_t kZstdCompressionAlgorithm = 1u << 26;
inline constexpr std::uint32_t kQueryAttributes = 1u << 27;
inline constexpr std::uint32_t kMultiFactorAuthentication = 1u << 28;
inline constexpr std::uint32_t kCapabilityExtension = 1u << 29;
inline constexpr std::uint32_t kSslVerifyServerCert = 1u << 30;
inline constexpr std::uint32_t kRememberOptions = 1u << 31;
}  // namespace cap

// MariaDB extended capabilities: the 4 bytes that MySQL leaves reserved, used when CLIENT_MYSQL
// is clear on both sides.
namespace mariadb_cap {
inline constexpr std::uint32_t kProgress = 1u << 0;
inline constexpr std::uint32_t kComMulti = 1u << 1;
inline constexpr std::uint32_t kStmtBulkOperations = 1u << 2;
inline constexpr std::uint32_t kExtendedTypeInfo = 1u << 3;
inline constexpr std::uint32_t kCacheMetadata = 1u << 4;
inline constexpr std::uint32_t kBulkUnitResults = 1u << 5;
}  // namespace mariadb_cap

// Server status flags (OK packet, HandshakeV10).
namespace status {
inline constexpr std::uint16_t kInTrans = 1u << 0;
inline constexpr std::uint16_t kAutocommit = 1u << 1;
inline constexpr std::uint16_t kMoreResultsExist = 1u << 3;
inline constexpr std::uint16_t kSessionStateChanged = 1u << 14;
}  // namespace status

// First payload byte of generic responses and authentication packets.
namespace header {
inline constexpr std::uint8_t kOk = 0x00;
inline constexpr std::uint8_t kAuthMoreData = 0x01;
inline constexpr std::uint8_t kLocalInfile = 0xFB;
inline constexpr std::uint8_t kEof = 0xFE;  // also AuthSwitchRequest during authentication
inline constexpr std::uint8_t kAuthSwitch = 0xFE;
inline constexpr std::uint8_t kErr = 0xFF;
}  // namespace header

// Command bytes the proxy looks at.
namespace command {
inline constexpr std::uint8_t kQuit = 0x01;
inline constexpr std::uint8_t kInitDb = 0x02;
inline constexpr std::uint8_t kQuery = 0x03;
inline constexpr std::uint8_t kProcessKill = 0x0C;
inline constexpr std::uint8_t kPing = 0x0E;
inline constexpr std::uint8_t kChangeUser = 0x11;
inline constexpr std::uint8_t kResetConnection = 0x1F;
}  // namespace command

inline constexpr std::uint8_t kProtocolVersion10 = 10;
inline constexpr std::size_t kFrameHeaderLength = 4;       // 3-byte length + sequence id
inline constexpr std::size_t kMaxFramePayload = 0xFFFFFF;  // a frame this long continues
inline constexpr std::size_t kSslRequestLength = 32;
inline constexpr std::size_t kScramblePart1Length = 8;
inline constexpr std::size_t kScramblePart2MinLength = 13;
inline constexpr std::size_t kScrambleLength = 20;          // what servers send, and the proxy too
inline constexpr std::size_t kHandshakeReservedLength = 6;  // then 4 bytes of MariaDB capabilities
inline constexpr std::size_t kResponseFillerLength = 19;    // then 4 bytes of MariaDB capabilities
inline constexpr std::size_t kSqlStateLength = 5;
static_assert(kSslRequestLength == 4 + 4 + 1 + kResponseFillerLength + 4);
static_assert(kMaxFramePayload == (1u << 24) - 1);

}  // namespace hostgate::protocol::mysql
