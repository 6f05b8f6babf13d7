/*
 * main_agent.c - vigil-agent, the Linux endpoint sensor and responder.
 *
 * The program's one job here is to name its parts: the five sensors, the
 * response actions and the indicator hook, handed to the core (ag_main.c)
 * as a table. Keeping the only references to them in this file lets the
 * core and its unit tests link on their own.
 */
#include "agent/ag_int.h"

static const ag_sensor *const sensors[] = {
    &ag_sensor_proc, &ag_sensor_file, &ag_sensor_net, &ag_sensor_logon, &ag_sensor_inventory,
    NULL,
};

static const ag_parts parts = {
    sensors, ag_actions, ag_indicators_changed, ag_response_start, ag_response_stop,
};

int main(int argc, char **argv)
{
    return ag_main(argc, argv, &parts);
}
