using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Gatehouse.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class UpstreamOAuth : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "OAuthJson",
                table: "servers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "gateway_settings",
                columns: table => new
                {
                    Key = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Value = table.Column<string>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_gateway_settings", x => x.Key);
                });

            migrationBuilder.CreateTable(
                name: "oauth_clients",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Issuer = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: false),
                    RedirectUri = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: false),
                    ClientId = table.Column<string>(type: "TEXT", nullable: false),
                    ClientSecretSealed = table.Column<string>(type: "TEXT", nullable: true),
                    AuthMethod = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Source = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    RegistrationAccessTokenSealed = table.Column<string>(type: "TEXT", nullable: true),
                    ClientSecretExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_oauth_clients", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "oauth_pending_flows",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    StateHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ServerId = table.Column<Guid>(type: "TEXT", nullable: false),
                    OwnerKind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    OwnerId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Issuer = table.Column<string>(type: "TEXT", nullable: false),
                    AuthorizationServerJson = table.Column<string>(type: "TEXT", nullable: false),
                    ClientId = table.Column<string>(type: "TEXT", nullable: false),
                    ClientSource = table.Column<string>(type: "TEXT", nullable: false),
                    RedirectUri = table.Column<string>(type: "TEXT", nullable: false),
                    Resource = table.Column<string>(type: "TEXT", nullable: true),
                    Scopes = table.Column<string>(type: "TEXT", nullable: true),
                    CodeVerifierSealed = table.Column<string>(type: "TEXT", nullable: false),
                    AuthorizationUrlSealed = table.Column<string>(type: "TEXT", nullable: false),
                    InitiatedBy = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: false),
                    ConsumedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Outcome = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_oauth_pending_flows", x => x.Id);
                    table.ForeignKey(
                        name: "FK_oauth_pending_flows_servers_ServerId",
                        column: x => x.ServerId,
                        principalTable: "servers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "upstream_connections",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    ServerId = table.Column<Guid>(type: "TEXT", nullable: false),
                    OwnerKind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    OwnerId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Issuer = table.Column<string>(type: "TEXT", nullable: true),
                    AuthorizationServerJson = table.Column<string>(type: "TEXT", nullable: true),
                    ClientId = table.Column<string>(type: "TEXT", nullable: true),
                    ClientSource = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    GrantType = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    Resource = table.Column<string>(type: "TEXT", nullable: true),
                    Scopes = table.Column<string>(type: "TEXT", nullable: true),
                    RequestedScopes = table.Column<string>(type: "TEXT", nullable: true),
                    AccessTokenSealed = table.Column<string>(type: "TEXT", nullable: true),
                    AccessTokenExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    RefreshTokenSealed = table.Column<string>(type: "TEXT", nullable: true),
                    RefreshTokenExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ConnectedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ConnectedBy = table.Column<string>(type: "TEXT", nullable: true),
                    LastRefreshAt = table.Column<long>(type: "INTEGER", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", nullable: true),
                    StepUpAttempts = table.Column<int>(type: "INTEGER", nullable: false),
                    StepUpVersion = table.Column<long>(type: "INTEGER", nullable: false),
                    Version = table.Column<long>(type: "INTEGER", nullable: false),
                    RefreshLeaseHolder = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    RefreshLeaseUntil = table.Column<long>(type: "INTEGER", nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_upstream_connections", x => x.Id);
                    table.ForeignKey(
                        name: "FK_upstream_connections_servers_ServerId",
                        column: x => x.ServerId,
                        principalTable: "servers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_oauth_clients_Issuer_RedirectUri",
                table: "oauth_clients",
                columns: new[] { "Issuer", "RedirectUri" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_oauth_pending_flows_ExpiresAt",
                table: "oauth_pending_flows",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_oauth_pending_flows_ServerId",
                table: "oauth_pending_flows",
                column: "ServerId");

            migrationBuilder.CreateIndex(
                name: "IX_oauth_pending_flows_StateHash",
                table: "oauth_pending_flows",
                column: "StateHash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_upstream_connections_ServerId_OwnerKind_OwnerId",
                table: "upstream_connections",
                columns: new[] { "ServerId", "OwnerKind", "OwnerId" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "gateway_settings");

            migrationBuilder.DropTable(
                name: "oauth_clients");

            migrationBuilder.DropTable(
                name: "oauth_pending_flows");

            migrationBuilder.DropTable(
                name: "upstream_connections");

            migrationBuilder.DropColumn(
                name: "OAuthJson",
                table: "servers");
        }
    }
}
