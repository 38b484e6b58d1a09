#pragma once
// The IPv4 loopback address at `port`: the test harness and the fault proxy
// only ever listen and connect there.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>

namespace compeval::test {

inline sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

}  // namespace compeval::test
