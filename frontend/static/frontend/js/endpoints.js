// Every REST path the pages call, in one place (the API is under /api/v1/;
// see the OpenAPI docs at /api/v1/docs/).

export const endpoints = {
  instruments: "/api/v1/instruments/",
  bars: (symbol) => `/api/v1/instruments/${encodeURIComponent(symbol)}/bars/`,
  clock: "/api/v1/clock/",
  trades: "/api/v1/trades/",
  trade: (id) => `/api/v1/trades/${id}/`,
  tradeClose: (id) => `/api/v1/trades/${id}/close/`,
  tradeCancel: (id) => `/api/v1/trades/${id}/cancel/`,
  wallets: "/api/v1/wallets/",
  ledger: "/api/v1/wallets/entries/",
  deposits: "/api/v1/wallets/deposits/",
  withdrawals: "/api/v1/wallets/withdrawals/",
  plans: "/api/v1/plans/",
  planCancel: (id) => `/api/v1/plans/${id}/cancel/`,
  events: "/api/v1/events/",
  portfolio: "/api/v1/portfolio/",
  portfolioEquity: "/api/v1/portfolio/equity/",
  tradeStatus: "/api/check-trade-status/",
};

export const pages = {
  trade: (id) => `/trades/${id}/`,
  tradesCsv: "/trades/export.csv",
};
