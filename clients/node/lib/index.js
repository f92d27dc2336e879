'use strict';
// civicgrid for Node: a small client that shares no code with the C one.
//   const { Channel, loadProtos } = require('./lib');
//   const ch = new Channel('tcp://127.0.0.1:7000', { token });
//   const me = await ch.call('/civic.gateway.v1.GatewayService/WhoAmI',
//     'civic.gateway.v1.WhoAmIRequest', {}, 'civic.gateway.v1.WhoAmIResponse', { read: true });
module.exports = { ...require('./client'), ...require('./sp') };
